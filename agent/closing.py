"""The end of the day (docs/protocol.md 5.8): the 0500 with the terminal's totals since the
last close, the 0510 that closes the window, and the day report the terminal prints.

Imported by agent/engine.py only when the day is closed: once a day, so off the heap of
every sale (the MicroPython heap of the smallest terminals has no room to spare).
"""

from agent import receipt, steps
from agent.club import NoResponse
from agent.ledger import TOTALS_FIELDS, net_amount
from agent.printing import legs
from agent.printing.digits import money
from agent.protocol import messages as m
from agent.receipt import center, row
from agent.timeutil import transmission

COUNT_WIDTH = 10  # fields 74..77
AMOUNT_WIDTH = 16  # fields 86..89, and 97 after its sign
TOTAL_ROWS = (
    ("dn", "da", "Debits"),
    ("drn", "dra", "Debit reversals"),
    ("cn", "ca", "Credits"),
    ("crn", "cra", "Credit reversals"),
)


def close_day(eng):
    """0500 with the terminal's totals since the last close; the 0510 closes the window."""
    res = steps.new_result("close")
    if not eng.saf.drain(force=True):
        return steps.fail(eng, res, steps.FAILED, "busy", count=len(eng.saf))
    totals = dict(eng.ledger.totals)
    stan = eng.stans.next()
    msg = {"t": "0500", "7": transmission(eng.clock.now()), "11": stan}
    for key, field in TOTALS_FIELDS.items():
        width = AMOUNT_WIDTH if key.endswith("a") else COUNT_WIDTH
        msg[field] = f"{totals[key]:0{width}d}"
    net = net_amount(totals)
    msg["97"] = ("C" if net >= 0 else "D") + f"{abs(net):0{AMOUNT_WIDTH}d}"
    res["stan"] = stan
    res["totals"] = totals
    eng.display.show("closing")
    try:
        reply = eng.club.request(msg)
    except NoResponse:
        return steps.fail(eng, res, steps.FAILED, "no_answer")
    res["response_code"] = reply.rc
    if reply.rc not in (m.APPROVED, m.OUT_OF_BALANCE):
        res["outcome"] = steps.DECLINED
        res["message"] = m.RESPONSE_CODES.get(reply.rc, ("", "Declined"))[1]
        eng.display.show("declined", code=reply.rc, message=res["message"])
        return res
    host = {}
    for key, field in TOTALS_FIELDS.items():
        value = reply.message.get(field)
        host[key] = int(value) if value else 0
    res["host_totals"] = host
    res["host_count"] = reply.number(m.TAG_RECON_DETAIL)
    res["parked"] = len(eng.ledger.parked)
    res["conflicts"] = eng.ledger.conflicts
    res["exceptions"] = list(eng.ledger.exceptions)
    res["leg_totals"] = dict(eng.ledger.legs)  # purchases by leg (the day report)
    eng.ledger.record({"k": "rec", "s": stan, "rc": reply.rc, "tot": totals, "host": host})
    balanced = reply.rc == m.APPROVED
    res["outcome"] = steps.APPROVED if balanced else steps.DECLINED
    res["message"] = "Totals agree" if balanced else "Totals differ"
    eng.display.show("totals", rc=reply.rc, balanced=balanced)
    try:
        eng.printer.print_lines(day_report(res, eng.receipt_header()))
        res["printed"] = True
    except OSError:
        eng.display.show("printer_error")
    eng.maybe_compact()
    return res


def day_report(res, header):
    """The end-of-day report: the terminal's totals and, when they differ, the club's."""
    lines = []
    if header.get("merchant_name"):
        lines.append(center(header["merchant_name"]))
    lines.append(row("Merchant", header.get("merchant_id", "").strip()))
    lines.append(row("Terminal", header.get("terminal_id", "")))
    lines.append(row("Date", receipt.date_text(header)))
    lines.append("-" * receipt.WIDTH)
    lines.append(receipt.TITLES["en"]["close"])
    sides = [("Terminal", res.get("totals") or {})]
    if res.get("response_code") != "00" and res.get("host_totals"):
        sides.append(("Club", res["host_totals"]))
    for title, totals in sides:
        lines.append(title + ":")
        for count_key, amount_key, label in TOTAL_ROWS:
            count = totals.get(count_key, 0)
            lines.append(row(f"  {label} ({count})", money(totals.get(amount_key, 0))))
    lines.append(center(res.get("message", "")))
    if res.get("parked"):
        lines.append(row("Items given up", res["parked"]))
    if res.get("conflicts"):
        lines.append(row("Confirmations refused (12)", res["conflicts"]))
    if res.get("leg_totals"):  # purchases by leg, net of voids (agent/ledger.py)
        lines.append("Sales by leg:")
        for account in sorted(res["leg_totals"], reverse=True):
            label = legs.WORDS["en"].get(account, account)
            lines.append(row("  " + label, money(res["leg_totals"][account])))
    for exc in res.get("exceptions") or ():
        # Exceptions: sales the club refused to confirm (the store is not paid for them).
        lines.append(row(f"  STAN {exc['stan']} ****{exc.get('card') or ''}", money(exc["amt"])))
    return lines
