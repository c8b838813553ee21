"""Split payment (docs/protocol.md 5.11, docs/terminal.md "Split payment"): a
member pays part of a sale from club credit (006000) or store credit (007000) and the rest,
the remainder, on the bank leg (tender 40) or in cash (tender 00).

Phase one is the credit purchase's 0100 with field 48 tag 17 = the tender. The club answers
00 when the credit covers the payable (then the sale is a credit purchase, one leg), or 10
(partial approval, ISO 8583:1987) holding all the available credit: field 54 {account}P1 =
the credit part, {tender}P1 = the remainder. The customer accepts the split (screen "split";
cancel: 0420 CN); tender 40 journals a "pay" record (what recovery needs to decide, with the
legs) and pays the remainder on the bank leg: approved -> 0220 with tag 05, else 0420
BD/BT/CN; tender 00 asks the cashier to confirm the cash was taken (screen "collect_cash";
not confirmed: 0420 CN). A power cut between the legs is finished by agent/recovery.py like a
bank-card sale's.

Imported only for a split sale (agent/engine.py), a void or a refund of one (agent/flows.py)
and an ECR status answer with legs (agent/ecr): the MicroPython heap of the smallest terminals
has no room to spare.
"""

import binascii

from agent import flows, steps
from agent.protocol import messages as m
from agent.protocol.tlv import decode_tlv

TENDERS = (m.ACCOUNT_BANK, m.ACCOUNT_NONE)
# a leg's account -> its name (results, receipts, the day report: agent/receipt.py)
LEG_NAMES = {
    m.ACCOUNT_CLUB_CREDIT: "club_credit",
    m.ACCOUNT_STORE_CREDIT: "store_credit",
    m.ACCOUNT_BANK: "bank",
    m.ACCOUNT_NONE: "cash",
    m.ACCOUNT_POINTS: "points",
}


def purchase_split(eng, amount, account, tender, card=None, coupon=None):
    """006000/007000 with tag 17; the result has "legs", in paying order (docs/terminal.md
    "Split payment"); a sale that did not go through has none, unless the bank leg charged
    the remainder and the club then refused the confirmation (12: declined, "Paid at the
    bank; ...", the legs say what was paid)."""
    if account not in flows.CREDIT_FLOWS:
        raise ValueError(f"split credit account must be one of {tuple(flows.CREDIT_FLOWS)}")
    if tender not in TENDERS:
        raise ValueError(f"split remainder tender must be one of {TENDERS}")
    res = steps.new_result("split", amount)
    res["legs"] = []
    _sale(eng, res, account, tender, card, coupon)
    if res["outcome"] != steps.APPROVED and not res["bank_reference"]:
        res["legs"] = []
    return res


def _sale(eng, res, account, tender, card, coupon):
    tags = flows.coupon_tags(res, coupon, {m.TAG_SPLIT_TENDER: tender})
    if tender == m.ACCOUNT_BANK and eng.bank is None:  # no PSP application: refused first
        return steps.fail(eng, res, steps.FAILED, "no_bank")
    card = steps.start(eng, res, card)
    if card is None:
        return res
    pc = flows.CREDIT_FLOWS[account][1]
    reply = steps.authorize(eng, res, "split", pc, res["amount"], card, tags, account)
    if reply is None:
        return res
    entry = eng.ledger.entry(res["stan"])
    if reply.rc == m.APPROVED:  # the credit covers it all: a credit purchase, one leg
        res["legs"] = [{"account": account, "amount": res["payable"]}]
        return flows.credit_phase_two(eng, res, entry, card, account)
    legs = res.get("legs") or ()
    if [leg["account"] for leg in legs] != [account, tender]:  # not the split asked for
        return flows._reverse(eng, res, entry, "ER")
    part, rest = legs[0]["amount"], legs[1]["amount"]
    if not eng.keypad.confirm("split", credit=part, remainder=rest, tender=tender):
        return flows._reverse(eng, res, entry, "CN", steps.CANCELLED)
    stop = flows.stopped(eng, res, entry, card)
    if stop is not None:
        return stop
    ref = None
    if tender == m.ACCOUNT_NONE:
        if not eng.keypad.confirm("collect_cash", remainder=rest):
            return flows._reverse(eng, res, entry, "CN", steps.CANCELLED)
        if steps.past_deadline(eng, entry):  # the cash goes back: the sale is reversed
            return flows._late(eng, res, entry)
    else:
        txn_id = eng.terminal_id + res["stan"] + entry["txn"]["f7"]
        pay = {"k": "pay", "s": res["stan"], "bid": txn_id, "amt": rest, "paid": res["payable"]}
        pay["legs"] = [[account, part], [tender, rest]]
        eng.ledger.record(pay)
        eng.display.show("bank", payable=rest)
        outcome = steps.bank_pay(eng, rest, card, txn_id)
        status = outcome.get("status")
        if status != "approved":
            reason = steps.BANK_REVERSAL.get(status, "BT")
            done = steps.CANCELLED if reason == "CN" else steps.REVERSED
            return flows._reverse(eng, res, entry, reason, done)
        ref = res["bank_reference"] = legs[1]["bank_reference"] = outcome.get("reference")
    flows._confirm(eng, res, entry, account, bank_ref=ref)
    if res["outcome"] == steps.APPROVED:
        res["response_code"] = m.PARTIAL_APPROVAL  # the 0110's answer, not the 0230's
    return res


def show_back(eng, res):
    """After a void or a refund of a split sale: the screen saying what goes back where."""
    legs = res.get("legs") or ()
    if len(legs) > 1:
        screen = "legs_bank" if legs[1]["account"] == m.ACCOUNT_BANK else "legs_cash"
        eng.display.show(screen, credit=legs[0]["amount"], remainder=legs[1]["amount"])


def legs_of(item):
    """The legs of a queued 0220 item (or a void's 0420, which copies them), as in a result:
    [{"account", "amount"[, "bank_reference"]}]; a sale that was not split has one leg, its
    field 3 account with what the customer paid. Refunds and top-ups have none."""
    f = item["f"]
    if f["3"][:2] != "00":
        return []
    packed = item.get("legs") or [[f["3"][2:4], item.get("paid", int(f["4"]))]]
    legs = [{"account": a, "amount": amt} for a, amt in packed]
    ref = decode_tlv(binascii.unhexlify(f["48"])).get(m.TAG_BANK_REFERENCE) if "48" in f else None
    for leg in legs:
        if leg["account"] == m.ACCOUNT_BANK and ref:
            leg["bank_reference"] = ref.decode()
    return legs
