"""The log's line for a flow's result (the emulator's log panel, simulator/pos_emulator/ui/app.py):
the outcome, the figures, the card as its last 4 digits only, a split sale's legs."""

from simulator.pos_emulator.ui.split_keys import legs_text

RESULT_KEYS = ("amount", "discount", "fee", "payable", "points_earned", "balance_after", "stan",
               "rrn")  # fmt: skip


def result_line(res):
    """One log line for a flow's result; the card as its last 4 digits only."""
    parts = [f"result: {res.get('flow')} {res.get('outcome')} ({res.get('response_code')})"]
    for key in RESULT_KEYS:
        value = res.get(key)
        if value not in (None, "", 0):
            parts.append(f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}")
    if res.get("card_last4"):
        parts.append("card *" + res["card_last4"])
    if res.get("legs"):  # a split sale, its void or refund (split_keys.py)
        parts.append(legs_text(res["legs"]))
    if res.get("message"):
        parts.append("- " + str(res["message"]))
    return " ".join(parts)
