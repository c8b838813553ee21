"""Persian SMS notices and receipt lines: templates as data, numbers in Persian digits.

The club's SMS gateway is replaced by the outbox table: each notice is queued there with the
member's phone. A notice names the card by its last 4 digits only (PCI DSS: at most the last 4
where a card is shown to a person).
"""

from agent.jalali import gregorian_to_jalali
from simulator.club_server import tehran

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
THOUSANDS = "٬"  # U+066C ARABIC THOUSANDS SEPARATOR
CLUB = "باشگاه وفا"


def fa_digits(text):
    return str(text).translate(PERSIAN_DIGITS)


def fa_number(n):
    """1200000 -> ۱٬۲۰۰٬۰۰۰ (negative numbers keep their minus sign)."""
    return fa_digits(f"{n:,}".replace(",", THOUSANDS))


def fa_datetime(ts):
    d = tehran.local(ts)
    y, m, day = gregorian_to_jalali(d.year, d.month, d.day)
    return fa_digits(f"{y}/{m:02d}/{day:02d} {d.hour:02d}:{d.minute:02d}")


def fa_date_yyyymmdd(text):
    """20250321 (Gregorian) -> ۱۴۰۴/۰۱/۰۱."""
    y, m, d = gregorian_to_jalali(int(text[:4]), int(text[4:6]), int(text[6:8]))
    return fa_digits(f"{y}/{m:02d}/{d:02d}")


# kind -> template. Fields: amount, store, card (last 4 in Persian digits), points, points_balance,
# balance, credit, validity, rrn, when. Every value is formatted before it is put in.
TEMPLATES = {
    "purchase": "{club}: خرید {amount} ریال در {store}، کارت {card}. امتیاز: +{points}، "
    "امتیاز کل: {points_balance}. {when}",
    "purchase_credit": "{club}: خرید {amount} ریال از اعتبار در {store}، کارت {card}. "
    "مانده اعتبار: {balance} ریال. امتیاز: +{points}. {when}",
    "topup": "{club}: افزایش اعتبار {credit} ریال برای کارت {card}، معتبر تا {validity}. "
    "مانده اعتبار: {balance} ریال. {when}",
    "refund": "{club}: بازگشت {amount} ریال در {store}، کارت {card}. "
    "امتیاز کسر شده: {points}. {when}",
    "void": "{club}: لغو تراکنش {rrn} به مبلغ {amount} ریال در {store}، کارت {card}. {when}",
    "convert": "{club}: {points} امتیاز شما به {credit} ریال اعتبار هدیه {store} تبدیل شد، "
    "معتبر تا {validity}. {when}",
    "enroll": "{club}: عضویت شما ثبت شد. کارت {card} فعال است. {when}",
}

# Lines for the receipt (field 48 tag 04): short, at most 255 bytes of UTF-8.
RECEIPT = {
    "earn": "امتیاز این خرید: {points}",
    "convert": "{points} امتیاز به {credit} ریال اعتبار هدیه تبدیل شد",
    "topup": "اعتبار معتبر تا {validity}",
    "refund": "امتیاز کسر شده: {points}",
}


def notice(kind, *, when, card_last4, **values):
    """The text of one SMS notice; numbers given as int are formatted with separators."""
    fields = {"club": CLUB, "when": fa_datetime(when), "card": fa_digits(card_last4)}
    for key, value in values.items():
        fields[key] = fa_number(value) if isinstance(value, int) else fa_digits(value)
    return TEMPLATES[kind].format(**fields)


def receipt_line(kind, **values):
    fields = {k: fa_number(v) if isinstance(v, int) else fa_digits(v) for k, v in values.items()}
    text = RECEIPT[kind].format(**fields)
    return text.encode()[:255].decode(errors="ignore")
