"""The Persian words of the receipts (agent/receipt.py loads them only for a Persian receipt:
English-only terminals keep them off the heap)."""

TITLES = {
    "bank": "خرید با کارت بانکی",
    "club_credit": "خرید با اعتبار باشگاه",
    "store_credit": "خرید با اعتبار فروشگاه",
    "cash": "خرید نقدی",
    "top_up": "افزایش اعتبار",
    "refund": "استرداد وجه",
    "balance": "مانده",
    "void": "ابطال",
    "close": "پایان روز",
}
LABELS = {
    "merchant": "پذیرنده",
    "terminal": "پایانه",
    "date": "تاریخ",
    "card": "کارت",
    "amount": "مبلغ",
    "discount": "تخفیف",
    "fee": "کارمزد",
    "payable": "قابل پرداخت",
    "given_back": "مبلغ برگشتی",
    "bank_reference": "مرجع بانکی",
    "stan": "شماره پیگیری",
    "rrn": "شماره مرجع",
    "points_earned": "امتیاز این خرید",
    "points_balance": "مانده امتیاز",
    "balance_after": "مانده اعتبار",
    "credit_validity": "اعتبار تا",
    "tier": "سطح",
    "rials": "مبالغ به ریال",
    "approved": "تایید شد",
    "voided": "ابطال شد",
    "pending": " (در انتظار تایید)",
    "merchant_copy": "-- نسخه پذیرنده --",
    "customer_copy": "-- نسخه مشتری --",
}
