"""A bank payment given back when the club refuses its confirmation (docs/terminal.md "Bank
payment given back").

A 0220 that carries a bank reference (48 tag 05: a 004000 sale, or a split sale's bank
remainder) and is answered 12 means the customer's bank card was charged for a sale the club
does not have. The terminal's answer: the bank leg gives the money back, by the PSP's reversal
of its own payment (the BankLeg port's optional reverse(txn_id, amount), agent/ports.py).

- The ledger marks the charge owed when it applies the 0220's "qd" (owed_of below), so a power
  cut anywhere after the 12 leaves it owed on flash, or leaves the 0220 queued: sent again, the
  club answers 12 again.
- A "br" record (synced) is journaled before the bank leg is asked; a "brd" record with the
  answer closes it. A cut between the two is finished at power-up (agent/recovery.py) by asking
  again: the PSP reverses once per txn_id (docs/bank_leg.md "Reversal").
- No reverse in the port, a refusal, or no answer twice: the terminal says so plainly, on the
  screen ("bank_refund_due") and on a printed slip ("refund N rials on the bank card, reference
  R"), and the end-of-day report lists it (agent/receipt.py day_report).

Imported only when a confirmation is refused (the MicroPython heap).
"""

import binascii

from agent.printing.digits import money
from agent.protocol import messages as m
from agent.protocol.tlv import decode_tlv

REVERSED = "reversed"
NO_REVERSE = "no_reverse"  # the bank leg has no reverse(): the cashier refunds by hand
TRIES = 2  # a reverse without an answer is asked once more at once (idempotent by txn_id)
MESSAGES = {
    REVERSED: "Not completed: the club refused the confirmation; bank payment given back",
    "due": "Not completed: the club refused the confirmation; "
    + "refund {} rials on the bank card, reference {}",
}


def bank_amount(item):
    """What the bank leg charged for a 0220 item: a split sale's bank leg (account 40), else
    what the customer paid (the payable), else field 4."""
    legs = item.get("legs")
    if legs:
        return sum(amt for account, amt in legs if account == m.ACCOUNT_BANK)
    paid = item.get("paid")
    return int(item["f"]["4"]) if paid is None else paid


def owed_of(item, rc):
    """The bank charge to give back for a 0220 item the club answered rc (not 00), or None
    when it carried no bank reference. Its "bid" is the bank leg's txn_id of the payment:
    terminal id + the 0100's STAN and field 7, both in the 0220's field 90 (agent/flows.py)."""
    fields = item["f"]
    if item["mti"] != "0220" or "48" not in fields:
        return None
    ref = decode_tlv(binascii.unhexlify(fields["48"])).get(m.TAG_BANK_REFERENCE)
    if not ref:
        return None
    return {
        "id": item["id"],
        "stan": item.get("txn"),
        "f90": fields["90"],
        "rrn": fields.get("37"),
        "card": item.get("card"),
        "amt": bank_amount(item),
        "ref": ref.decode(),
        "rc": rc,
    }


def apply(ledger, rec):
    """The ledger's state after a record of this module (agent/ledger.py): "owe" (a refused
    0220's "qd", in RAM only), "br" (the bank leg is about to be asked), "brd" (its answer)."""
    kind = rec["k"]
    if kind == "owe":
        owed = owed_of(rec["item"], rec["rc"])
        if owed is not None and not [o for o in ledger.owed if o["id"] == owed["id"]]:
            ledger.owed.append(owed)
        return
    for owed in ledger.owed:
        if owed["id"] == rec["id"]:
            if kind == "br":
                owed["asked"] = owed.get("asked", 0) + 1
            else:
                ledger.owed.remove(owed)
                done = dict(owed)
                done["st"] = rec.get("st")
                ledger.bank_back.append(done)
            return


def txn_id(eng, owed):
    f90 = owed["f90"]
    return eng.terminal_id + f90[4:10] + f90[10:20]


def settle(eng):
    """Give back every charge owed (after a refused confirmation, and at power-up); the list
    of their "brd" records."""
    return [give_back(eng, owed) for owed in list(eng.ledger.owed)]


def give_back(eng, owed):
    """One owed charge: "br" (synced), the bank leg's reverse, "brd"; the screen, and the
    slip when the cashier must refund by hand. Returns the "brd" record."""
    eng.ledger.record({"k": "br", "id": owed["id"], "bid": txn_id(eng, owed), "amt": owed["amt"]})
    status = ask(eng, txn_id(eng, owed), owed["amt"])
    done = eng.ledger.record({"k": "brd", "id": owed["id"], "st": status})
    params = {"amount": owed["amt"], "reference": owed["ref"]}
    if status == REVERSED:
        eng.display.show("bank_reversed", **params)
        return done
    eng.display.show("bank_refund_due", **params)
    try:
        eng.printer.print_lines(slip(owed, eng.receipt_header()))
    except OSError:
        eng.display.show("printer_error")
    return done


def ask(eng, bid, amount):
    """The bank leg's answer to reverse(bid, amount): "reversed", "declined", "timeout" (no
    answer TRIES times) or NO_REVERSE."""
    reverse = getattr(eng.bank, "reverse", None)
    if reverse is None:
        return NO_REVERSE
    status = "timeout"
    for _ in range(TRIES):
        try:
            status = reverse(bid, amount).get("status") or "timeout"
        except OSError:
            status = "timeout"
        if status != "timeout":
            return status
    return status


def slip(owed, header):
    """The printed slip of a charge the bank leg did not give back: what the cashier must do."""
    from agent.receipt import row

    lines = ["REFUND DUE ON THE BANK CARD", "-" * 32]
    lines.append(row("Terminal", header.get("terminal_id", "")))
    lines.append(row("STAN", owed.get("stan") or ""))
    lines.append(row("Card", "****" + (owed.get("card") or "")))
    lines.append(row("Club answer", owed.get("rc") or ""))
    lines.append("The club refused this sale.")
    lines.append("Refund " + money(owed["amt"]) + " rials")
    lines.append("on the bank card, reference")
    lines.append(owed["ref"])
    return lines


def report_lines(done, row, money):
    """The day report's lines of the charges given back or still to refund by hand."""
    lines = []
    for d in done:
        label = "  Given back" if d.get("st") == REVERSED else "  TO REFUND"
        lines.append(row(label + " ****" + (d.get("card") or ""), money(d["amt"])))
        lines.append("    bank ref " + d["ref"])
    return lines


def explain(eng, res):
    """The result and last screen of a sale whose bank-paid 0220 was refused during it."""
    for done in eng.ledger.bank_back + eng.ledger.owed:
        if done.get("stan") == res["stan"]:
            res["bank_reversal"] = done.get("st") or "pending"
            params = {"amount": done["amt"], "reference": done["ref"]}
            if done.get("st") == REVERSED:
                res["message"] = MESSAGES[REVERSED]
                eng.display.show("bank_reversed", **params)
            else:
                res["message"] = MESSAGES["due"].format(money(done["amt"]), done["ref"])
                eng.display.show("bank_refund_due", **params)
            return
