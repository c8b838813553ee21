"""Screens as data: screen id -> per-language line templates, and the renderer that fills them.

The engine shows screens by id with parameters (display.show("payable", amount=..., ...)).
TEXT[lang] is one packed table per language ("en", "fa"), a row per line, "kind key|a|b|...":

    s id|line|...   the templates of a 4-row display
    c id|line|...   those of a 2-row display (16x2) where the 4-row text would lose what
                    matters (screens without a "c" row show their first two lines, wrapped)
    r code|text     a 0420 reason code (agent/protocol/messages.py REVERSAL_REASONS) in words
    f name|text     an enrollment field's name
    t code|text     a split sale's remainder tender (48 tag 17: 40 bank card, 00 cash) in words
    y |yes|no       booleans
    x code|text     (fa) the club's response codes (the engine passes English in "message")
    m text|text     (fa) English card reader messages (agent/card_io) shown as {message}

A packed str constant stays in the .mpy (in flash when run from ROMFS or frozen): rendering
slices out only the row it needs, nothing is built at import. SCREENS is a read-only view,
id -> {lang: templates}, parsed on demand (tests and tools). Templates use str.format names;
render() formats each value for the language:

    int    an amount or count: grouped, Persian digits and ٬ in Persian, ASCII and , in English
    None   blank
    bool   yes / no in the language
    str    as given, digits made Persian in Persian (unless it holds Latin letters)

and derives a few values: "why" (the reversal reason code "reason" in words), "field" (the
enrollment field's name), "tender" (a split's remainder tender in words), "message" (in
Persian, the response code's or card error's text).
A line with fields that were all left out or None is blank (an approved bank or cash sale has
no credit balance to show). Lines longer than the display wrap into spare rows, then are cut;
render() returns exactly `rows` logical lines (a display shapes and reorders them:
agent/display/pixel.py).
"""

from agent.printing.digits import localize, money

LANGUAGES = ("en", "fa")

# fmt: off
TEXT = {
    "en": """
s ready|Vafa club|Ready
s card|Insert, swipe or|key in the club card
s amount|Amount (rials)|{amount}||OK to continue
s working|Please wait|Contacting club
s payable|Amount {amount}|Discount {discount}|Fee {fee}|PAY {payable}
s confirm|Pay {payable}|Credit {balance}|OK to accept|Cancel to stop
s confirm_topup|Top-up {amount}|Credit after|{balance}|OK = cash received
s confirm_points|Pay {amount}|in points|Points after {points}|OK to accept
s bank|Pay on bank terminal|{payable}
s split|Credit {credit}|{tender} {remainder}|OK to accept|Cancel to stop
s collect_cash|Take in cash|{remainder}|OK = cash received|Cancel to stop
s legs_bank|Club gives back|{credit}|Bank terminal back|{remainder}
s legs_cash|Club gives back|{credit}|Cash to hand back|{remainder}
s approved|APPROVED|Paid {payable}|Points {points}|Credit {balance}
s voided|VOIDED|Given back {payable}
s void_queued|VOID QUEUED|Not confirmed yet|Give nothing back|{payable}
s declined|DECLINED ({code})|{message}
s offline|Club not reached|Sales will ask|the club again
s reversed|NOT COMPLETED|{why}|Reversal sent ({reason})
s bank_reversed|NOT COMPLETED|Club refused sale|Bank pay given back|{amount}
s bank_refund_due|NOT DONE: REFUND|{amount}|to the bank card|Ref {reference}
s balance|Points {points}|Club {club_credit}|Store {store_credit}|Tier {tier}
s enroll|New member|Enter {field}
s coupon|Coupon|{coupon}|Discount {discount}
s coupon_refused|Coupon refused|{coupon}|{message}
s coupon_entry|Coupon code|{coupon}|OK to keep it|Cancel to drop it
s pin|Enter card PIN|{masked}|OK to continue|Cancel to stop
s pin_wrong|Wrong PIN|Tries left {tries_left}|Enter card PIN|{masked}
s pin_cancelled|PIN entry|cancelled
s pin_new|Choose a card PIN|4 to 12 digits|{masked}|Cancel to skip
s pin_again|Type the new PIN|again|{masked}
s pin_mismatch|The two PINs differ|Please try again
s pin_changed|PIN CHANGED|Use the new PIN|from now on
s pin_unknown|PIN change|not confirmed:|try the new PIN,|then the old one
s busy|Club unreachable|{count} pending|Try again later
s no_paper|Printer: no paper|Load paper,|then try again
s printer_error|Printer error|Receipt not printed
s no_card|No card
s no_bank|No bank terminal|Bank card sales|are not possible
s card_error|Card refused|{message}
s unsent|Club unreachable
s no_answer|No answer from club
s no_response|No answer from club|Reversal queued ({reason})
s enroll_cancelled|Enrollment|cancelled
s enroll_phone|Phone not valid|11 digits from 09,|e.g. 09121234567|Please try again
s enroll_date|Birth date not valid|YYYYMMDD, e.g.|19900321|Please try again
s enroll_invalid|Not valid: {field}|Please try again
s nothing_to_void|Nothing to void
s recovering|Restarting|Open {open}|Queued {queued}
s closing|End of day|Sending totals
s totals|End of day|Response {rc}|Balanced: {balanced}
c card|Club card:|insert or swipe
c amount|Amount (rials)|{amount}
c payable|To pay (rials):|{payable}
c confirm|Pay? OK/Cancel|{payable}
c confirm_topup|Top-up: OK=cash|{amount}
c confirm_points|Points? OK/Cancel|{amount}
c bank|Pay by bank card|{payable}
c split|Cr {credit}|+ {remainder}
c collect_cash|Cash: OK=taken|{remainder}
c legs_bank|Bank back:|{remainder}
c legs_cash|Cash back:|{remainder}
c approved|APPROVED  Paid:|{payable}
c voided|VOIDED  Back:|{payable}
c void_queued|Void queued: not|confirmed yet
c declined|{message}
c reversed|Not completed|{why}
c bank_reversed|Card given back|{amount}
c bank_refund_due|Refund on card:|{amount}
c balance|Points {points}|Cr {club_credit}
c enroll|New member|Enter {field}
c enroll_phone|Phone: 11 digits|from 09
c enroll_date|Date: YYYYMMDD|e.g. 19900321
c enroll_invalid|Not valid:|{field}
c coupon|{coupon}|Off {discount}
c coupon_refused|{message}
c coupon_entry|Coupon code|{coupon}
c pin|Enter PIN|{masked}
c pin_wrong|Wrong PIN, {tries_left}|{masked}
c pin_new|New PIN (4-12)|{masked}
c pin_again|New PIN again|{masked}
c pin_mismatch|PINs differ|Try again
c pin_changed|PIN changed
c pin_unknown|PIN change not|confirmed
c busy|Club unreachable|{count} pending
c no_paper|Printer|No paper
c no_response|No answer|Reversal queued
c totals|End of day {rc}|Balanced: {balanced}
r TO|Club timed out
r CN|Cancelled
r BD|Bank declined
r BT|Bank timed out
r VD|Voided
r PF|Power failure
r MC|Security error
r PR|Check printer
r NF|No final answer
r DL|Too late
r ER|Terminal error
f phone|phone
f gender|gender
f birth_date|birth date
f education|education
f referrer|referrer (optional)
t 40|Bank
t 00|Cash
y |yes|no
""",
    "fa": """
s ready|باشگاه وفا|آماده
s card|کارت باشگاه را|وارد کنید یا بکشید
s amount|مبلغ (ریال)|{amount}||تایید: ادامه
s working|لطفا صبر کنید|ارتباط با باشگاه
s payable|مبلغ {amount}|تخفیف {discount}|کارمزد {fee}|پرداخت {payable}
s confirm|پرداخت {payable}|اعتبار {balance}|تایید: پذیرش|لغو: انصراف
s confirm_topup|افزایش {amount}|اعتبار پس از آن|{balance}|تایید: وجه رسید
s confirm_points|پرداخت {amount}|با امتیاز|امتیاز پس از آن {points}|تایید: پذیرش
s bank|پرداخت با کارت بانکی|{payable}
s split|اعتبار {credit}|{tender} {remainder}|تایید: پذیرش|لغو: انصراف
s collect_cash|دریافت نقد|{remainder}|تایید: وجه رسید|لغو: انصراف
s legs_bank|باشگاه برمی‌گرداند|{credit}|برگشت در پایانه بانک|{remainder}
s legs_cash|باشگاه برمی‌گرداند|{credit}|پس دادن نقد|{remainder}
s approved|تایید شد|پرداخت {payable}|امتیاز {points}|اعتبار {balance}
s voided|ابطال شد|مبلغ برگشتی {payable}
s void_queued|ابطال در صف|هنوز تایید نشده|وجهی برنگردانید|{payable}
s declined|رد شد ({code})|{message}
s offline|باشگاه پاسخ نداد|هر فروش دوباره|از باشگاه می‌پرسد
s reversed|انجام نشد|{why}|برگشت ارسال شد ({reason})
s bank_reversed|انجام نشد|باشگاه نپذیرفت|وجه به کارت برگشت|{amount}
s bank_refund_due|انجام نشد: استرداد|{amount}|به کارت بانکی|مرجع {reference}
s balance|امتیاز {points}|باشگاه {club_credit}|فروشگاه {store_credit}|سطح {tier}
s pin|رمز کارت را وارد کنید|{masked}|تایید: ادامه|لغو: انصراف
s pin_wrong|رمز نادرست|{tries_left} بار دیگر|رمز کارت را وارد کنید|{masked}
s pin_cancelled|ورود رمز|لغو شد
s pin_new|رمز تازه کارت|۴ تا ۱۲ رقم|{masked}|لغو: بدون رمز
s pin_again|رمز تازه را|دوباره وارد کنید|{masked}
s pin_mismatch|دو رمز یکی نیستند|دوباره وارد کنید
s pin_changed|رمز عوض شد|از این پس|رمز تازه را بزنید
s pin_unknown|تغییر رمز|تایید نشد:|رمز تازه را بزنید،|سپس رمز پیشین
c pin|رمز کارت|{masked}
c pin_wrong|رمز نادرست، {tries_left}|{masked}
c pin_new|رمز تازه|{masked}
c pin_again|دوباره رمز تازه|{masked}
c pin_mismatch|دو رمز یکی نیست|دوباره
c pin_changed|رمز عوض شد
c pin_unknown|تغییر رمز|تایید نشد
s enroll|عضو جدید|{field} را وارد کنید
s coupon|کوپن|{coupon}|تخفیف {discount}
s coupon_refused|کوپن پذیرفته نشد|{coupon}|{message}
s coupon_entry|کد کوپن|{coupon}|تایید: نگه داشتن|لغو: حذف
s busy|باشگاه در دسترس نیست|{count} در صف|بعدا تلاش کنید
s no_paper|چاپگر کاغذ ندارد|کاغذ بگذارید و|دوباره تلاش کنید
s printer_error|خطای چاپگر|رسید چاپ نشد
s no_card|کارتی خوانده نشد
s no_bank|پایانه بانکی وصل نیست|فروش با کارت بانکی|ممکن نیست
s card_error|کارت پذیرفته نشد|{message}
s unsent|باشگاه در دسترس نیست
s no_answer|باشگاه پاسخ نداد
s no_response|باشگاه پاسخ نداد|برگشت در صف ({reason})
s enroll_cancelled|ثبت نام|لغو شد
s enroll_phone|شماره همراه نادرست|۱۱ رقم، با ۰۹|مانند ۰۹۱۲۱۲۳۴۵۶۷|دوباره وارد کنید
s enroll_date|تاریخ تولد نادرست|سال ماه روز شمسی|مانند ۱۳۶۹۰۱۰۱|دوباره وارد کنید
s enroll_invalid|{field} نادرست است|دوباره وارد کنید
s nothing_to_void|چیزی برای ابطال نیست
s recovering|راه‌اندازی دوباره|باز {open}|در صف {queued}
s closing|پایان روز|ارسال جمع‌ها
s totals|پایان روز|پاسخ {rc}|تراز: {balanced}
c card|کارت باشگاه را|وارد کنید
c amount|مبلغ (ریال)|{amount}
c payable|قابل پرداخت:|{payable}
c confirm|تایید یا لغو:|{payable}
c confirm_points|پرداخت با امتیاز؟|{amount}
c confirm_topup|افزایش اعتبار؟|{amount}
c bank|پرداخت با کارت|{payable}
c split|{credit}|+ {remainder}
c collect_cash|نقد رسید؟|{remainder}
c legs_bank|برگشت بانکی:|{remainder}
c legs_cash|برگشت نقد:|{remainder}
c approved|تایید شد|{payable}
c voided|ابطال شد|{payable}
c void_queued|ابطال در صف|هنوز تایید نشده
c declined|{message}
c reversed|انجام نشد|{why}
c bank_reversed|برگشت به کارت|{amount}
c bank_refund_due|استرداد دستی:|{amount}
c balance|امتیاز {points}|{club_credit}
c enroll|وارد کنید:|{field}
c enroll_phone|شماره نادرست|۱۱ رقم، با ۰۹
c enroll_date|تاریخ نادرست|مانند ۱۳۶۹۰۱۰۱
c enroll_invalid|{field}|نادرست است
c coupon|{coupon}|-{discount}
c coupon_refused|{message}
c coupon_entry|کد کوپن|{coupon}
c busy|باشگاه قطع است|{count} در صف
c no_paper|چاپگر|کاغذ ندارد
c no_response|باشگاه پاسخ نداد|برگشت در صف
c totals|پایان روز {rc}|تراز: {balanced}
r TO|باشگاه پاسخ نداد
r CN|لغو شد
r BD|بانک رد کرد
r BT|بانک پاسخ نداد
r VD|ابطال شد
r PF|قطع برق
r MC|خطای امنیتی
r PR|چاپگر آماده نیست
r NF|پاسخ قطعی نیامد
r DL|زمان تمام شد
r ER|خطای پایانه
f phone|تلفن همراه
f gender|جنسیت
f birth_date|تاریخ تولد
f education|تحصیلات
f referrer|همراه معرف (اختیاری)
t 40|بانک
t 00|نقد
y |بله|خیر
x 03|پایانه ثبت نشده
x 05|رد شد
x 12|تراکنش مجاز نیست
x 13|مبلغ نامعتبر
x 14|کارت ناشناخته
x 25|تراکنش اصلی یافت نشد
x 30|خطای سیستم
x 51|اعتبار کافی نیست
x 54|کارت منقضی شده
x 55|رمز نادرست
x 57|برای این کارت مجاز نیست
x 62|کارت مسدود است
x 63|خطای امنیتی
x 64|ثبت نام لازم است
x 75|رمز مسدود است
x 77|مشخصات عضو نادرست
x 78|کوپن پذیرفته نشد
x 94|تراکنش تکراری
x 95|جمع‌ها برابر نیست
x 96|خطای سیستم
m Card error|خطای کارت
m Card removed|کارت خارج شد
m Card unreadable|کارت خوانده نشد
m Card not genuine|کارت معتبر نیست
m Card not issued|کارت صادر نشده
m Card locked|کارت قفل است
m Not a club card|کارت باشگاه نیست
m Reader error|خطای کارتخوان
m Not for this sale|برای این خرید نیست
m Unknown code|کد ناشناخته
m Code disabled|کد غیرفعال است
m Code expired|کد منقضی شده
m Not for this store|برای این فروشگاه نیست
m For another member|برای عضو دیگری است
m Purchase below minimum|خرید کمتر از حداقل
m Code used up|کد مصرف شده
""",
}
# fmt: on


def row(lang, kind, key):
    """The fields of TEXT[lang]'s row "kind key|..." after the key (a list), or None."""
    text = TEXT[lang]
    i = text.find("\n" + kind + " " + key + "|")
    if i < 0:
        return None
    i += len(kind) + len(key) + 3
    return text[i : text.find("\n", i)].split("|")


def _ids(kind):
    ids = []
    text = TEXT["en"]
    i = text.find("\n" + kind + " ")
    while i >= 0:
        j = i + len(kind) + 2
        ids.append(text[j : text.find("|", j)])
        i = text.find("\n" + kind + " ", j)
    return ids


class _Screens:
    """SCREENS[id] -> {"en": templates, "fa": templates}, parsed from TEXT on each access."""

    def __contains__(self, screen):
        return row("en", "s", screen) is not None

    def __getitem__(self, screen):
        entry = {}
        for lang in LANGUAGES:
            found = row(lang, "s", screen)
            if found is None:
                raise KeyError(screen)
            entry[lang] = tuple(found)
        return entry

    def __iter__(self):
        return iter(_ids("s"))

    def __len__(self):
        return len(_ids("s"))

    def keys(self):
        return _ids("s")

    def values(self):
        return [self[screen] for screen in _ids("s")]

    def items(self):
        return [(screen, self[screen]) for screen in _ids("s")]


SCREENS = _Screens()


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
        return row(lang, "y", "")[0 if value else 1]
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
        why = row(lang, "r", str(reason))
        values["why"] = why[0] if why else ""
        values["reason"] = str(reason)  # a code: Latin letters in both languages
    field = params.get("field")
    if field is not None:
        name = row(lang, "f", str(field))
        values["field"] = name[0] if name else str(field)
    tender = params.get("tender")
    if tender is not None:
        name = row(lang, "t", str(tender))
        values["tender"] = name[0] if name else str(tender)
    if lang == "fa" and params.get("message") is not None:
        code = params.get("code")
        text = (code is not None and row(lang, "x", str(code))) or row(
            lang, "m", str(params["message"])
        )
        if text:
            values["message"] = text[0]
    return values


def templates(screen, lang, rows):
    found = rows <= 2 and row(lang, "c", screen)
    if found:
        return found
    found = row(lang, "s", screen)
    if found is None:
        return (screen,)
    return found[:rows]


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
    given = params or {}
    for template in templates(screen, lang, rows):
        fill = {}
        unset = True  # a line whose every field is unset is left blank: no bare "Credit"
        for name in names(template):
            fill[name] = values.get(name, "")
            if fill[name] or given.get(name) is not None:
                unset = False
        lines.append("" if unset and fill else template.format(**fill))
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
