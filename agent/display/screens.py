"""Screens as data: screen id -> per-language line templates, and the renderer that fills them.

The engine shows screens by id with parameters (display.show("payable", amount=..., ...)).
SCREENS[id] holds the templates of a 4-row display per language ("en", "fa"); COMPACT[id]
those of a 2-row display (16x2) where the 4-row text would lose what matters. Templates use
str.format names; render() formats each value for the language:

    int    an amount or count: grouped, Persian digits and ٬ in Persian, ASCII and , in English
    None   blank
    bool   yes / no in the language
    str    as given, digits made Persian in Persian (unless it holds Latin letters)

and derives a few values: "why" (the reversal reason code "reason" in words), "field" (the
enrollment field's name), "message" (in Persian, the response code's or card error's text).
Lines longer than the display wrap into spare rows, then are cut; render() returns exactly
`rows` logical lines (a display shapes and reorders them: agent/display/pixel.py).
"""

from agent.printing.digits import localize, money

LANGUAGES = ("en", "fa")

SCREENS = {
    "ready": {"en": ("Vafa club", "Ready"), "fa": ("باشگاه وفا", "آماده")},
    "card": {
        "en": ("Insert, swipe or", "key in the club card"),
        "fa": ("کارت باشگاه را", "وارد کنید یا بکشید"),
    },
    "amount": {
        "en": ("Amount (rials)", "{amount}", "", "OK to continue"),
        "fa": ("مبلغ (ریال)", "{amount}", "", "تایید: ادامه"),
    },
    "working": {
        "en": ("Please wait", "Contacting club"),
        "fa": ("لطفا صبر کنید", "ارتباط با باشگاه"),
    },
    "payable": {
        "en": ("Amount {amount}", "Discount {discount}", "Fee {fee}", "PAY {payable}"),
        "fa": ("مبلغ {amount}", "تخفیف {discount}", "کارمزد {fee}", "پرداخت {payable}"),
    },
    "confirm": {
        "en": ("Pay {payable}", "Credit {balance}", "OK to accept", "Cancel to stop"),
        "fa": ("پرداخت {payable}", "اعتبار {balance}", "تایید: پذیرش", "لغو: انصراف"),
    },
    "confirm_topup": {
        "en": ("Top-up {amount}", "Credit after", "{balance}", "OK = cash received"),
        "fa": ("افزایش {amount}", "اعتبار پس از آن", "{balance}", "تایید: وجه رسید"),
    },
    "bank": {
        "en": ("Pay on bank terminal", "{payable}"),
        "fa": ("پرداخت با کارت بانکی", "{payable}"),
    },
    "approved": {
        "en": ("APPROVED", "Paid {payable}", "Points {points}", "Credit {balance}"),
        "fa": ("تایید شد", "پرداخت {payable}", "امتیاز {points}", "اعتبار {balance}"),
    },
    "declined": {"en": ("DECLINED ({code})", "{message}"), "fa": ("رد شد ({code})", "{message}")},
    "reversed": {
        "en": ("NOT COMPLETED", "{why}", "Reversal sent ({reason})"),
        "fa": ("انجام نشد", "{why}", "برگشت ارسال شد ({reason})"),
    },
    "balance": {
        "en": ("Points {points}", "Club {club_credit}", "Store {store_credit}", "Tier {tier}"),
        "fa": ("امتیاز {points}", "باشگاه {club_credit}", "فروشگاه {store_credit}", "سطح {tier}"),
    },
    "enroll": {"en": ("New member", "Enter {field}"), "fa": ("عضو جدید", "{field} را وارد کنید")},
    "busy": {
        "en": ("Club unreachable", "{count} pending", "Try again later"),
        "fa": ("باشگاه در دسترس نیست", "{count} در صف", "بعدا تلاش کنید"),
    },
    "no_paper": {
        "en": ("Printer: no paper", "Load paper,", "then try again"),
        "fa": ("چاپگر کاغذ ندارد", "کاغذ بگذارید و", "دوباره تلاش کنید"),
    },
    "printer_error": {
        "en": ("Printer error", "Receipt not printed"),
        "fa": ("خطای چاپگر", "رسید چاپ نشد"),
    },
    "no_card": {"en": ("No card",), "fa": ("کارتی خوانده نشد",)},
    "card_error": {"en": ("Card refused", "{message}"), "fa": ("کارت پذیرفته نشد", "{message}")},
    "unsent": {"en": ("Club unreachable",), "fa": ("باشگاه در دسترس نیست",)},
    "no_answer": {"en": ("No answer from club",), "fa": ("باشگاه پاسخ نداد",)},
    "no_response": {
        "en": ("No answer from club", "Reversal queued ({reason})"),
        "fa": ("باشگاه پاسخ نداد", "برگشت در صف ({reason})"),
    },
    "enroll_cancelled": {"en": ("Enrollment", "cancelled"), "fa": ("ثبت نام", "لغو شد")},
    "nothing_to_void": {"en": ("Nothing to void",), "fa": ("چیزی برای ابطال نیست",)},
    "recovering": {
        "en": ("Restarting", "Open {open}", "Queued {queued}"),
        "fa": ("راه‌اندازی دوباره", "باز {open}", "در صف {queued}"),
    },
    "closing": {"en": ("End of day", "Sending totals"), "fa": ("پایان روز", "ارسال جمع‌ها")},
    "totals": {
        "en": ("End of day", "Response {rc}", "Balanced: {balanced}"),
        "fa": ("پایان روز", "پاسخ {rc}", "تراز: {balanced}"),
    },
}

# 2-row displays (16x2): what matters first, amounts alone on their line so that 10 digits
# with separators fit 16 columns (screens not listed show their first two lines, wrapped).
COMPACT = {
    "card": {"en": ("Club card:", "insert or swipe"), "fa": ("کارت باشگاه را", "وارد کنید")},
    "amount": {"en": ("Amount (rials)", "{amount}"), "fa": ("مبلغ (ریال)", "{amount}")},
    "payable": {"en": ("To pay (rials):", "{payable}"), "fa": ("قابل پرداخت:", "{payable}")},
    "confirm": {"en": ("Pay? OK/Cancel", "{payable}"), "fa": ("تایید یا لغو:", "{payable}")},
    "confirm_topup": {
        "en": ("Top-up: OK=cash", "{amount}"),
        "fa": ("افزایش اعتبار؟", "{amount}"),
    },
    "bank": {"en": ("Pay by bank card", "{payable}"), "fa": ("پرداخت با کارت", "{payable}")},
    "approved": {"en": ("APPROVED  Paid:", "{payable}"), "fa": ("تایید شد", "{payable}")},
    "declined": {"en": ("{message}",), "fa": ("{message}",)},
    "reversed": {"en": ("Not completed", "{why}"), "fa": ("انجام نشد", "{why}")},
    "balance": {
        "en": ("Points {points}", "Cr {club_credit}"),
        "fa": ("امتیاز {points}", "{club_credit}"),  # a label does not fit beside 10 digits
    },
    "enroll": {"en": ("New member", "Enter {field}"), "fa": ("وارد کنید:", "{field}")},
    "busy": {
        "en": ("Club unreachable", "{count} pending"),
        "fa": ("باشگاه قطع است", "{count} در صف"),
    },
    "no_paper": {"en": ("Printer", "No paper"), "fa": ("چاپگر", "کاغذ ندارد")},
    "no_response": {
        "en": ("No answer", "Reversal queued"),
        "fa": ("باشگاه پاسخ نداد", "برگشت در صف"),
    },
    "totals": {
        "en": ("End of day {rc}", "Balanced: {balanced}"),
        "fa": ("پایان روز {rc}", "تراز: {balanced}"),
    },
}

# 0420 reason codes (agent/protocol/messages.py REVERSAL_REASONS) in words
REASONS = {
    "en": {
        "TO": "Club timed out",
        "CN": "Cancelled",
        "BD": "Bank declined",
        "BT": "Bank timed out",
        "VD": "Voided",
        "PF": "Power failure",
        "MC": "Security error",
        "PR": "Check printer",
    },
    "fa": {
        "TO": "باشگاه پاسخ نداد",
        "CN": "لغو شد",
        "BD": "بانک رد کرد",
        "BT": "بانک پاسخ نداد",
        "VD": "ابطال شد",
        "PF": "قطع برق",
        "MC": "خطای امنیتی",
        "PR": "چاپگر آماده نیست",
    },
}
# Persian text of the club's response codes (the engine passes English in "message")
RESPONSES_FA = {
    "03": "پایانه ثبت نشده",
    "05": "رد شد",
    "12": "تراکنش مجاز نیست",
    "13": "مبلغ نامعتبر",
    "14": "کارت ناشناخته",
    "25": "تراکنش اصلی یافت نشد",
    "30": "خطای سیستم",
    "51": "اعتبار کافی نیست",
    "54": "کارت منقضی شده",
    "57": "برای این کارت مجاز نیست",
    "62": "کارت مسدود است",
    "63": "خطای امنیتی",
    "64": "ثبت نام لازم است",
    "94": "تراکنش تکراری",
    "95": "جمع‌ها برابر نیست",
    "96": "خطای سیستم",
}
# Persian text of English messages shown as {message} (card reader errors, agent/card_io)
MESSAGES_FA = {
    "Card error": "خطای کارت",
    "Card removed": "کارت خارج شد",
    "Card unreadable": "کارت خوانده نشد",
    "Card not genuine": "کارت معتبر نیست",
    "Card not issued": "کارت صادر نشده",
    "Card locked": "کارت قفل است",
    "Not a club card": "کارت باشگاه نیست",
    "Reader error": "خطای کارتخوان",
}
FIELDS = {
    "en": {"phone": "phone", "gender": "gender", "birth_date": "birth date",
           "education": "education"},
    "fa": {"phone": "تلفن همراه", "gender": "جنسیت", "birth_date": "تاریخ تولد",
           "education": "تحصیلات"},
}  # fmt: skip
YES_NO = {"en": ("yes", "no"), "fa": ("بله", "خیر")}


def names(template):
    """The {name} fields of a template, in order."""
    found = []
    i = template.find("{")
    while i >= 0:
        j = template.find("}", i)
        if j < 0:
            break
        found.append(template[i + 1 : j])
        i = template.find("{", j)
    return found


def value_text(value, lang):
    if value is None:
        return ""
    if value is True or value is False:
        return YES_NO[lang][0 if value else 1]
    if type(value) is int:
        return money(value, lang)
    return localize(value, lang)


def derive(params, lang):
    """The parameters as the templates of lang show them (strings)."""
    values = {}
    for key in params:
        values[key] = value_text(params[key], lang)
    reason = params.get("reason")
    if reason is not None:
        values["why"] = REASONS[lang].get(reason, "")
        values["reason"] = str(reason)  # a code: Latin letters in both languages
    field = params.get("field")
    if field is not None:
        values["field"] = FIELDS[lang].get(field, str(field))
    if lang == "fa" and params.get("message") is not None:
        code = params.get("code")
        text = RESPONSES_FA.get(code) or MESSAGES_FA.get(params["message"])
        if text:
            values["message"] = text
    return values


def templates(screen, lang, rows):
    entry = SCREENS.get(screen)
    if entry is None:
        return (screen,)
    if rows <= 2 and screen in COMPACT:
        return COMPACT[screen][lang]
    return entry[lang][:rows]


def wrap(text, width, measure=len):
    """Word-wrap text to lines of measure() at most width; long words are cut."""
    lines = []
    line = ""
    for word in text.split(" "):
        candidate = line + " " + word if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while measure(word) > width:
            cut = len(word)
            while cut > 1 and measure(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    lines.append(line)
    return lines


def cut(text, width, measure=len):
    while text and measure(text) > width:
        text = text[:-1]
    return text


def render(screen, params=None, lang="en", rows=4, width=20, measure=len):
    """Exactly `rows` logical lines for a screen id, each at most `width` by measure()
    (characters for a character LCD, pixels for a pixel panel). Unknown ids show the id."""
    if lang not in LANGUAGES:
        raise ValueError(f"display language must be one of {LANGUAGES}, not {lang!r}")
    values = derive(params or {}, lang)
    lines = []
    for template in templates(screen, lang, rows):
        fill = {}
        for name in names(template):
            fill[name] = values.get(name, "")
        lines.append(template.format(**fill))
    spare = rows - len(lines)
    out = []
    for line in lines:
        if measure(line) > width and spare > 0:
            parts = wrap(line, width, measure)
            extra = min(len(parts) - 1, spare)
            spare -= extra
            out.extend(parts[: extra + 1])
        else:
            out.append(line)
    out = [cut(line, width, measure) for line in out[:rows]]
    while len(out) < rows:
        out.append("")
    return out
