"""The campaigns' Persian texts: SMS notices for the outbox and short lines for the receipt
(field 48 tag 04), as data, with the number and date formatting of sms.py."""

from simulator.club_server import sms

DECIMAL = "\u066b"  # ARABIC DECIMAL SEPARATOR

# kind -> SMS template. Fields: store, card (last 4), credit, validity, percent, when.
SMS = {
    "birthday": "{club}: تولدتان مبارک! {credit} ریال اعتبار هدیه {store} به کارت {card} "
    "افزوده شد، معتبر تا {validity}. {when}",
    "winback": "{club}: دلمان برایتان تنگ شده! در خرید بعدی از {store} تا {validity} "
    "{percent}٪ تخفیف بیشتر می‌گیرید. {when}",
    "winback_plain": "{club}: دلمان برایتان تنگ شده! منتظر دیدارتان در {store} هستیم. {when}",
    "referral_new": "{club}: با نخستین خرید شما {credit} ریال اعتبار هدیه معرفی {store} "
    "به کارت {card} افزوده شد، معتبر تا {validity}. {when}",
    "referral_referrer": "{club}: دوستی که معرفی کردید نخستین خریدش را انجام داد؛ {credit} "
    "ریال اعتبار هدیه {store} به کارت {card} افزوده شد، معتبر تا {validity}. {when}",
    "survey": "{club}: از خرید شما در {store} سپاسگزاریم. رضایت خود را با پاسخ یک عدد از "
    "۱ تا ۵ به همین پیامک به ما بگویید. {when}",
}

# kind -> receipt line (at most 255 bytes of UTF-8)
RECEIPT = {
    "offer": "پیشنهاد بازگشت: {percent}٪ تخفیف بیشتر، {discount} ریال",
    "referral": "هدیه معرفی: {credit} ریال اعتبار هدیه",
    "referral_referrer": "هدیه معرفی به معرف: {credit} ریال",
}


def _fields(values):
    return {
        k: sms.fa_number(v) if isinstance(v, int) else sms.fa_digits(v) for k, v in values.items()
    }


def percent(basis_points):
    """1000 -> '10', 1250 -> '12٫5' (the Persian decimal separator; the digits become Persian
    when the template is filled)."""
    whole, rest = divmod(basis_points, 100)
    return str(whole) if not rest else f"{whole}{DECIMAL}{rest:02d}".rstrip("0")


def notice(kind, *, when, card_last4="", **values):
    fields = _fields(values)
    fields.update(club=sms.CLUB, when=sms.fa_datetime(when), card=sms.fa_digits(card_last4))
    return SMS[kind].format(**fields)


def receipt_line(kind, **values):
    text = RECEIPT[kind].format(**_fields(values))
    return text.encode()[:255].decode(errors="ignore")
