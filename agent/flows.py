"""The transaction flows of docs/protocol.md section 5, over the engine's ports.

Each flow takes the engine (agent/engine.py) and returns a result dict (steps.new_result).
Every flow that may move money first drains the store-and-forward queue (steps.start): a sale
never overtakes an unsent confirmation or reversal.
"""

import binascii

from agent import receipt, steps
from agent.club import NoResponse, stamp
from agent.protocol import messages as m
from agent.protocol.tlv import encode_tlv
from agent.timeutil import transmission

CREDIT_FLOWS = {
    m.ACCOUNT_CLUB_CREDIT: ("club_credit", m.PURCHASE_CLUB_CREDIT),
    m.ACCOUNT_STORE_CREDIT: ("store_credit", m.PURCHASE_STORE_CREDIT),
}
REFUND_ACCOUNTS = (m.ACCOUNT_NONE, m.ACCOUNT_BANK, m.ACCOUNT_CLUB_CREDIT, m.ACCOUNT_STORE_CREDIT)


def _reverse(eng, res, entry, reason, outcome=steps.REVERSED):
    steps.reverse(eng, entry, reason)
    res["outcome"] = outcome
    res["reason"] = reason
    # Phase one's offer no longer applies: nothing is earned, the balance is what it was.
    res["points_earned"] = 0
    res["balance_after"] = None
    res["message"] = "Reversed: " + m.REVERSAL_REASONS.get(reason, reason)
    eng.display.show("reversed", reason=reason)
    return res


def _card_removed(eng, res, entry):
    """The chip card left the reader after phase one: reverse (reason CN), nothing half-done."""
    _reverse(eng, res, entry, "CN", steps.REVERSED)
    res["message"] = steps.MESSAGES["card_removed"]
    return res


def _late(eng, res, entry):
    """The customer took longer than the phase-two deadline: reverse (DL) before the club's
    hold window can lapse under a confirmation (docs/terminal.md "Deadlines")."""
    _reverse(eng, res, entry, "DL")
    res["message"] = steps.MESSAGES["deadline"]
    return res


def stopped(eng, res, entry, card):
    """The checks before the point of no return (the bank leg, the 0220): the card still in
    the reader, paper, the phase-two deadline. The reversed result when one fails, else None."""
    if not steps.card_present(eng, card):
        return _card_removed(eng, res, entry)
    if not eng.printer.ready():
        return _reverse(eng, res, entry, "PR")
    if steps.past_deadline(eng, entry):
        return _late(eng, res, entry)
    return None


def _confirm(eng, res, entry, account=None, bank_ref=None):
    """Phase two, then the approved screen and receipts; a refused confirmation prints
    nothing and shows why (steps.confirmed)."""
    steps.confirmed(eng, res, entry, account, bank_ref=bank_ref)
    if res["outcome"] != steps.APPROVED:
        return res
    return finish(eng, res)


FINISH_SCREENS = {"sale": "approved", "void": "voided"}


def finish(eng, res, kind="sale"):
    """The approved (voided) screen, both receipts, and a compaction when the journal has
    grown."""
    eng.display.show(FINISH_SCREENS[kind], **receipt.screen_params(res))
    print_receipts(eng, res, kind)
    if res.get("legs") and (kind == "void" or res["flow"] == "refund"):
        from agent import split  # a split's void or refund: what goes back where

        split.show_back(eng, res)
    eng.maybe_compact()
    return res


def print_receipts(eng, res, kind="sale"):
    res["printed"] = True
    for copy in receipt.COPIES:
        try:
            receipt.print_copy(eng.printer, res, copy, eng.receipt_header(), kind)
        except OSError:
            res["printed"] = False
            eng.display.show("printer_error")
            return


def purchase_bank(eng, amount, card=None, coupon=None):
    """004000: discount inquiry, bank leg payment of the payable, then 0220 (tag 05) or 0420.
    coupon: a code the cashier keyed in (agent/coupon.py), sent in 48 tag 0F."""
    res = steps.new_result("bank", amount)
    tags = coupon_tags(res, coupon)
    if eng.bank is None:  # no PSP application wired to this terminal: refused before anything
        return steps.fail(eng, res, steps.FAILED, "no_bank")
    card = steps.start(eng, res, card)
    if card is None:
        return res
    reply = steps.authorize(eng, res, "bank", m.PURCHASE_BANK, amount, card, tags)
    if reply is None:
        return res
    entry = eng.ledger.entry(res["stan"])
    eng.display.show(
        "payable", amount=amount, discount=res["discount"], fee=res["fee"], payable=res["payable"]
    )
    stop = stopped(eng, res, entry, card)
    if stop is not None:
        return stop
    if res["payable"] <= 0:  # the club pays it all: nothing to charge on the bank leg
        return _confirm(eng, res, entry)
    txn_id = eng.terminal_id + res["stan"] + entry["txn"]["f7"]
    eng.ledger.record({"k": "pay", "s": res["stan"], "bid": txn_id, "amt": res["payable"]})
    eng.display.show("bank", payable=res["payable"])
    outcome = steps.bank_pay(eng, res["payable"], card, txn_id)
    status = outcome.get("status")
    if status != "approved":
        reason = steps.BANK_REVERSAL.get(status, "BT")
        outcome = steps.CANCELLED if reason == "CN" else steps.REVERSED
        return _reverse(eng, res, entry, reason, outcome)
    res["bank_reference"] = outcome.get("reference")
    return _confirm(eng, res, entry, bank_ref=res["bank_reference"])


def purchase_credit(eng, amount, account, card=None, coupon=None):
    """006000 (club credit) or 007000 (store credit): the customer accepts the payable."""
    flow, pc = CREDIT_FLOWS[account]
    res = steps.new_result(flow, amount)
    tags = coupon_tags(res, coupon)
    card = steps.start(eng, res, card)
    if card is None:
        return res
    reply = steps.authorize(eng, res, flow, pc, amount, card, tags, account=account)
    if reply is None:
        return res
    return credit_phase_two(eng, res, eng.ledger.entry(res["stan"]), card, account)


def credit_phase_two(eng, res, entry, card, account):
    """The customer accepts the payable from credit, then the 0220 (also a split sale's when
    the credit covers it, agent/split.py)."""
    if not eng.keypad.confirm("confirm", payable=res["payable"], balance=res["balance_after"]):
        return _reverse(eng, res, entry, "CN", steps.CANCELLED)
    return stopped(eng, res, entry, card) or _confirm(eng, res, entry, account)


def purchase_points(eng, amount, card=None):
    """008000: a purchase paid with the card's points at this store (docs/protocol.md 2.2);
    the customer accepts the points left after it (the 0110's 48 02)."""
    res = steps.new_result("points", amount)
    card = steps.start(eng, res, card)
    if card is None:
        return res
    reply = steps.authorize(eng, res, "points", m.PURCHASE_POINTS, amount, card, None)
    if reply is None:
        return res
    entry = eng.ledger.entry(res["stan"])
    if not eng.keypad.confirm("confirm_points", amount=amount, points=res["points_balance"]):
        return _reverse(eng, res, entry, "CN", steps.CANCELLED)
    return stopped(eng, res, entry, card) or _confirm(eng, res, entry)


def purchase_cash(eng, amount, card=None, coupon=None):
    """000000: a purchase paid in cash that earns points."""
    return _two_phase(eng, "cash", m.PURCHASE_CASH, amount, card, coupon=coupon)


def top_up(eng, amount, card=None):
    """210060: the cashier takes the money and confirms; the club credits club credit."""
    return _two_phase(
        eng, "top_up", m.TOP_UP, amount, card, account=m.ACCOUNT_CLUB_CREDIT, ask="confirm_topup"
    )


def refund(eng, amount, original_rrn, account=m.ACCOUNT_CLUB_CREDIT, card=None):
    """2000xx: refund of (part of) the purchase with RRN original_rrn, to `account`.

    A refund to a bank card ("40") is paid back by the bank leg's own refund; the club side
    here credits nothing but takes back the points of the refunded share.
    """
    if account not in REFUND_ACCOUNTS:
        raise ValueError(f"refund account must be one of {REFUND_ACCOUNTS}")
    balance = account if account in CREDIT_FLOWS else None
    tags = {m.TAG_ORIGINAL_RRN: original_rrn}
    return _two_phase(eng, "refund", "2000" + account, amount, card, balance, None, tags)


def _two_phase(eng, flow, pc, amount, card, account=None, ask=None, tags=None, coupon=None):
    res = steps.new_result(flow, amount)
    tags = coupon_tags(res, coupon, tags)
    card = steps.start(eng, res, card, refund_account=pc[4:6] if flow == "refund" else None)
    if card is None:
        return res
    reply = steps.authorize(eng, res, flow, pc, amount, card, tags, account)
    if reply is None:
        return res
    entry = eng.ledger.entry(res["stan"])
    credit = reply.text(m.TAG_CREDIT_VALIDITY)
    if credit:
        res["credit_validity"] = credit
    if ask and not eng.keypad.confirm(ask, amount=amount, balance=res["balance_after"]):
        return _reverse(eng, res, entry, "CN", steps.CANCELLED)
    return stopped(eng, res, entry, card) or _confirm(eng, res, entry, account)


def coupon_tags(res, code, tags=None):
    """Field 48 items with the coupon's tag 0F (agent/coupon.py, imported only with a code);
    ValueError for a code that is not one, before anything is sent."""
    if code is None:
        return tags
    from agent import coupon

    return coupon.prepare(res, code, tags)


def balance(eng, card=None):
    """310000: single phase; the balances, points, tier and card expiry on the display."""
    res = steps.new_result("balance", 0)
    card = steps.start(eng, res, card, need_paper=False)
    if card is None:
        return res
    reply = steps.authorize(eng, res, "balance", m.BALANCE_INQUIRY, 0, card)
    if reply is None:
        return res
    steps.end(eng, res["stan"], "single")
    amounts = reply.amounts
    res["outcome"] = steps.APPROVED
    res["club_credit"] = amounts.get(m.ACCOUNT_CLUB_CREDIT + m.AMOUNT_AVAILABLE)
    res["store_credit"] = amounts.get(m.ACCOUNT_STORE_CREDIT + m.AMOUNT_AVAILABLE)
    res["balance_after"] = res["club_credit"]
    res["card_expiry"] = reply.text(m.TAG_CARD_EXPIRY)
    res["message"] = steps.MESSAGES["approved"]
    eng.display.show(
        "balance",
        points=res["points_balance"],
        club_credit=res["club_credit"],
        store_credit=res["store_credit"],
        tier=res["tier"],
    )
    return res


def void_item(eng, q):
    """The 0420 (reason VD) of the confirmed transaction whose 0220 item is `q`."""
    f = q["f"]
    now = eng.clock.now()
    fields = {"3": f["3"], "4": f["4"], "11": eng.stans.next(), "49": m.CURRENCY_IRR}
    stamp(fields, now, eng.offset_s)
    fields["90"] = f["90"]
    if "37" in f:
        fields["37"] = f["37"]
    fields["48"] = binascii.hexlify(encode_tlv({m.TAG_REVERSAL_REASON: "VD"})).decode()
    item = {"id": fields["11"], "mti": "0420", "txn": q["txn"], "f": fields, "at": now}
    item["flow"] = q.get("flow")
    item["card"] = q.get("card")
    item["reason"] = "VD"
    for key in ("paid", "legs"):  # what goes back, by leg (agent/ledger.py)
        if key in q:
            item[key] = q[key]
    if q.get("pan"):
        item["pan"] = q["pan"]
    return item


def void_last(eng):
    """0420 VD of the last confirmed transaction since the last close (docs/protocol.md 5.5)."""
    res = steps.new_result("void")
    if not eng.saf.drain(force=True):
        return steps.fail(eng, res, steps.FAILED, "busy", count=len(eng.saf))
    last = eng.ledger.last
    if last is None or last["state"] != "confirmed":
        return steps.fail(eng, res, steps.FAILED, "nothing_to_void")
    q = last["q"]
    res["amount"] = int(q["f"]["4"])
    # What goes back is what the customer paid (the payable after discount and fee); a 0220
    # queued by an earlier version has no "paid": then field 4.
    res["payable"] = q.get("paid", res["amount"])
    res["discount"] = max(res["amount"] - res["payable"], 0)
    res["rrn"] = q["f"].get("37")
    res["card_last4"] = q.get("card")
    res["voided_flow"] = q.get("flow")
    if q.get("legs"):  # a split sale: what goes back where (agent/split.py)
        from agent import split

        res["legs"] = split.legs_of(q)
    item = eng.saf.add(void_item(eng, q))
    res["stan"] = item["id"]
    res["reason"] = "VD"
    eng.saf.drain(force=True)
    reply = eng.saf.last_reply.get(item["id"])
    if reply is None:
        res["outcome"] = steps.APPROVED
        res["message"] = "Void queued"
    else:
        res["response_code"] = reply.rc
        res["confirmed"] = reply.rc == m.APPROVED
        res["outcome"] = steps.APPROVED if res["confirmed"] else steps.DECLINED
        res["message"] = "Voided"
        if not res["confirmed"]:
            res["message"] = m.RESPONSE_CODES.get(reply.rc, ("", "Declined"))[1]
    if res["outcome"] == steps.APPROVED:
        return finish(eng, res, "void")
    eng.display.show("declined", code=reply.rc, message=res["message"])
    return res


def network(eng, code=m.NETWORK_SIGN_ON):
    """0800 sign-on / echo / sign-off; the response code, or None when nothing came."""
    msg = {"t": "0800", "7": transmission(eng.clock.now()), "11": eng.stans.next(), "70": code}
    try:
        return eng.club.request(msg, repeats=0).rc
    except NoResponse:
        return None
