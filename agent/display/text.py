"""Screens as text for a 20x4 character display (English; the real screens come later).

The engine shows screens by id with parameters (display.show("payable", amount=..., ...));
SCREENS maps each id to at most 4 line templates in str.format syntax. Integers are shown with
thousands separators, None as blank; every line is cut to 20 characters.
"""

COLUMNS = 20
ROWS = 4

SCREENS = {
    "ready": ("Vafa club", "Ready"),
    "card": ("Insert, swipe or", "key in the club card"),
    "working": ("Please wait", "Contacting club"),
    "payable": ("Amount {amount}", "Discount {discount}", "Fee {fee}", "PAY {payable}"),
    "confirm": ("Pay {payable}", "Credit {balance}", "OK to accept", "Cancel to stop"),
    "confirm_topup": ("Top-up {amount}", "Credit after", "{balance}", "OK = cash received"),
    "bank": ("Pay on bank terminal", "{payable}"),
    "approved": ("APPROVED", "Paid {payable}", "Points {points}", "Credit {balance}"),
    "declined": ("DECLINED ({code})", "{message}"),
    "reversed": ("NOT COMPLETED", "Reversal sent ({reason})"),
    "balance": ("Points {points}", "Club {club_credit}", "Store {store_credit}", "Tier {tier}"),
    "enroll": ("New member", "Enter {field}"),
    "busy": ("Club unreachable", "{count} pending", "Try again later"),
    "no_paper": ("Printer", "No paper"),
    "printer_error": ("Printer error", "Receipt not printed"),
    "no_card": ("No card",),
    "unsent": ("Club unreachable",),
    "no_answer": ("No answer from club",),
    "no_response": ("No answer from club", "Reversal queued ({reason})"),
    "enroll_cancelled": ("Enrollment", "cancelled"),
    "nothing_to_void": ("Nothing to void",),
    "recovering": ("Restarting", "Open {open}", "Queued {queued}"),
    "closing": ("End of day", "Sending totals"),
    "totals": ("End of day", "Response {rc}", "Balanced: {balanced}"),
}


def _value(value):
    if value is None:
        return ""
    if type(value) is int:
        return f"{value:,}"
    return str(value)


def _names(template):
    names = []
    i = template.find("{")
    while i >= 0:
        j = template.find("}", i)
        if j < 0:
            break
        names.append(template[i + 1 : j])
        i = template.find("{", j)
    return names


def render(screen, params=None):
    """Four lines of at most 20 characters for a screen id (unknown ids show the id)."""
    params = params or {}
    lines = []
    for template in SCREENS.get(screen, (screen,)):
        values = {}
        for name in _names(template):
            values[name] = _value(params.get(name))
        lines.append(template.format(**values)[:COLUMNS])
    while len(lines) < ROWS:
        lines.append("")
    return lines[:ROWS]


class TextDisplay:
    """A display port that renders each screen and hands the lines to write(lines)."""

    def __init__(self, write=None):
        self.write = write
        self.lines = [""] * ROWS

    def show(self, screen, **params):
        self.lines = render(screen, params)
        if self.write is not None:
            self.write(self.lines)
