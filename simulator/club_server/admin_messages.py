"""Reconciliation (0500) and network management (0800)."""

import json

from simulator.club_server.context import TAG_RECON_DETAIL, Reply
from simulator.club_server.phase_two import CREDIT, CREDIT_REVERSAL, DEBIT, DEBIT_REVERSAL

# bucket -> (number field, amount field) (docs/protocol.md 2.1 and 5.8)
RECON_FIELDS = {
    CREDIT: ("74", "86"),
    CREDIT_REVERSAL: ("75", "87"),
    DEBIT: ("76", "88"),
    DEBIT_REVERSAL: ("77", "89"),
}


def host_totals(items):
    totals = {bucket: [0, 0] for bucket in RECON_FIELDS}
    for item in items:
        totals[item["kind"]][0] += 1
        totals[item["kind"]][1] += item["amount"]
    return totals


def net_text(totals):
    """Field 97: credits - debits - credit reversals + debit reversals, C/D and 16 digits."""
    net = (
        totals[CREDIT][1]
        - totals[DEBIT][1]
        - totals[CREDIT_REVERSAL][1]
        + totals[DEBIT_REVERSAL][1]
    )
    return ("C" if net >= 0 else "D") + f"{abs(net):016d}"


def _values(fields):
    """Totals as numbers (field 97 signed), so C0 and D0 compare equal."""
    out = {key: int(value) for key, value in fields.items() if key != "97"}
    net = int(fields["97"][1:])
    out["97"] = -net if fields["97"][0] == "D" else net
    return out


def reconcile(ctx):
    """Compare the terminal's totals since its last reconciliation with the host's; close the
    window either way (the 0510 carries the host's totals, with 00 or 95 only).

    The items are events (docs/protocol.md 5.8): a purchase confirmed and later voided is a
    debit and a debit reversal, each in the window it happened in; 0E counts the items."""
    msg = ctx.message
    items = ctx.store.open_recon_items(ctx.terminal_id)
    totals = host_totals(items)
    fields = {}
    for bucket, (count_field, amount_field) in RECON_FIELDS.items():
        fields[count_field] = f"{totals[bucket][0]:010d}"
        fields[amount_field] = f"{totals[bucket][1]:016d}"
    fields["97"] = net_text(totals)
    theirs = {key: msg[key] for key in fields}
    code = "00" if _values(theirs) == _values(fields) else "95"
    ctx.store.close_recon(ctx.terminal_id, code, json.dumps(fields), json.dumps(theirs), ctx.now)
    return Reply(code, {TAG_RECON_DETAIL: str(len(items))}, fields=fields)


# field 70 -> response code (sign-on, sign-off, echo; a key change has none pending here);
# any other 3 digits: 12 (docs/protocol.md 5.9)
NETWORK = {"001": "00", "002": "00", "301": "00", "161": "12"}


def network(ctx):
    return Reply(NETWORK.get(ctx.message["70"], "12"))
