"""Steps the flows share: start a sale, phase one (0100) with enrollment, queue a confirmation
or a reversal, pay on the bank leg, fill and finish the result.

Write-ahead everywhere: the journal gets the record of a step before the step acts outside
the terminal (a "txn" before the 0100 leaves, a "pay" before the bank leg is asked, a "q"
before a 0220/0420 is first sent), so that after a power cut agent/recovery.py knows what may
have happened. agent/ledger.py syncs these when recorded; the "rsp" of a 0110 (and the "txn"
of a balance inquiry, which holds nothing) waits for the next synced record (docs/terminal.md
"Durable writes").
"""

import binascii

from agent.club import NoResponse, stamp
from agent.protocol import messages as m
from agent.protocol.tlv import encode_tlv

# Result outcomes.
APPROVED = "approved"
DECLINED = "declined"
REVERSED = "reversed"
CANCELLED = "cancelled"
FAILED = "failed"

# Seconds from the 0100 to the point of no return (the bank leg's payment, the 0220): the
# club releases an unconfirmed approval after its hold window (15 minutes by default,
# docs/protocol.md section 6), so the terminal gives up well before and reverses (reason DL).
CONFIRM_DEADLINE_S = 600
# How long the terminal waits for a card to be presented before it gives up ("no_card").
CARD_WAIT_MS = 30000

# Bank leg status -> reversal reason (docs/protocol.md 2.3 tag 0B).
BANK_REVERSAL = {"declined": "BD", "cancelled": "CN", "timeout": "BT", "unknown": "BT"}

MESSAGES = {
    "busy": "Pending work not sent: club unreachable",
    "no_paper": "Printer: no paper",
    "no_card": "No card",
    "no_bank": "No bank terminal connected",
    "unsent": "Club unreachable",
    "no_response": "No answer from the club; reversed",
    "not_final": "No final answer from the club; reversed",
    "deadline": "Too late to complete; reversed",
    "terminal_error": "Terminal error; reversed",
    "error_confirmed": "Terminal error after the bank charged; confirmed",
    "error_closed": "Terminal error; nothing held",
    "not_completed": "Not completed: the club refused the confirmation",
    "bank_not_confirmed": "Paid at the bank; the club refused the confirmation",
    "no_answer": "No answer from the club",
    "enroll_cancelled": "Enrollment cancelled",
    "approved": "Approved",
    "nothing_to_void": "Nothing to void",
    "queued": "Approved; confirmation will follow",
    "card_error": "Card refused",
    "card_removed": "Card removed before completion; reversed",
    "pin_cancelled": "PIN entry cancelled",
    "pin_changed": "PIN changed",
    "pin_unknown": "PIN change not confirmed: try the new PIN, then the old one",
}


def new_result(flow, amount=0):
    """The dict every flow returns (docs/terminal.md "Results")."""
    return {
        "flow": flow,
        "outcome": None,
        "response_code": None,
        "reason": None,
        "amount": amount,
        "discount": 0,
        "fee": 0,
        "payable": amount,
        "points_earned": None,
        "points_balance": None,
        "balance_after": None,
        "tier": None,
        "stan": None,
        "rrn": None,
        "card_last4": None,
        "bank_reference": None,
        "confirmed": False,
        "printed": False,
        "message": "",
        "club_message": None,
    }


def fail(eng, res, outcome, key, **params):
    res["outcome"] = outcome
    res["message"] = MESSAGES.get(key, key)
    eng.display.show(key, **params)
    return res


# result flow -> the engine method agent/card_io/routing.FLOWS_FOR names for it
ROUTED_FLOWS = {
    "bank": "purchase_bank",
    "club_credit": "purchase_club_credit",
    "store_credit": "purchase_store_credit",
    "points": "purchase_points",
    "cash": "purchase_cash",
    "balance": "balance",
    "top_up": "top_up",
    "refund": "refund",
    "pin_change": "balance",  # the cards whose balance may be asked may change their PIN
    "split": "purchase_split",
}


def route_refusal(res, card, refund_account=None):
    """Why this card may not start this flow (agent/card_io/routing.py), or None.

    A number in no known range is refused for every flow; a bank card only pays on the bank
    leg and is refunded to the bank account. Imported when a card is in hand, like the errors.
    """
    from agent.card_io import routing
    from agent.card_io.errors import UnknownCardRange

    try:
        kind = routing.route(card)[0]
    except UnknownCardRange as e:
        return e
    flow = ROUTED_FLOWS.get(res["flow"])
    accounts = routing.REFUND_ACCOUNT_FOR[kind]
    if flow in routing.FLOWS_FOR[kind] and (
        flow != "refund" or accounts is None or refund_account in accounts
    ):
        return None
    return UnknownCardRange(f"a {kind} card cannot be used for {flow}", card.pan[:6])


def start(eng, res, card, need_paper=True, refund_account=None):
    """Before any sale: the queue drained, paper present, a card the flow accepts. None (res
    filled) to stop."""
    if not eng.saf.drain(force=True):
        fail(eng, res, FAILED, "busy", count=len(eng.saf))
        return None
    if need_paper and not eng.printer.ready():
        fail(eng, res, FAILED, "no_paper")
        return None
    if card is None:
        eng.display.show("card")
        try:
            card = eng.reader.read(eng.config.get("card_wait_ms", CARD_WAIT_MS))
        except Exception as e:  # clone, blank, garbage, pulled: refused before any 0100
            if not _card_error(e):
                raise
            fail(eng, res, FAILED, "card_error", message=e.screen)
            res["message"] = "Card refused: " + str(e)
            return None
    if card is None:
        fail(eng, res, FAILED, "no_card")
        return None
    res["card_last4"] = card.last4
    refusal = route_refusal(res, card, refund_account)
    if refusal is not None:
        fail(eng, res, FAILED, "card_error", message=refusal.screen)
        res["message"] = "Card refused: " + str(refusal)
        return None
    return card


def _card_error(e):
    """e is an agent.card_io CardError. Imported only when an error is in hand: the engine
    stays within the 256 KB heap of the portable tests without the card_io modules."""
    from agent.card_io.errors import CardError

    return isinstance(e, CardError)


def card_present(eng, card):
    """False when the card of this sale has left the reader since it was read (the CardReader
    port's optional present(card), agent/card_io/clubcard.py); True when the reader cannot
    tell or did not read this card. The flows ask it before the point of no return."""
    present = getattr(eng.reader, "present", None)
    if present is None:
        return True
    try:
        return bool(present(card))
    except Exception as e:
        if not _card_error(e):
            raise
        return False


def phase_one(eng, res, flow, pc, amount, card, tags=None, pin=None, new_pin=None):
    """Journal a "txn" record, send the 0100 (repeats as 0101), journal the "rsp" record.

    pin: the cardholder's PIN field (agent/pinentry.py), RAM only: field 52 of every attempt;
    the journal marks the record "p" and keeps nothing of it. new_pin: a PIN change's new
    PIN field (agent/pinchange.py), the same way.

    Returns the Reply, or None when the club gave no answer (then a reversal is queued and
    sent when the 0100 may have reached it; res is filled).
    """
    stan = eng.stans.next()
    now = eng.clock.now()
    msg = {"t": "0100", "3": pc, "4": f"{amount:012d}", "11": stan, "22": card.entry}
    msg["25"] = m.CONDITION_NORMAL
    msg["49"] = m.CURRENCY_IRR
    stamp(msg, now, eng.offset_s)
    if tags:
        msg["48"] = encode_tlv(tags)
    rec = {"k": "txn", "s": stan, "f7": msg["7"], "pc": pc, "amt": amount, "flow": flow}
    rec["card"] = card.last4
    rec["pan"] = eng.vault.seal(card.pan)
    rec["at"] = now
    if pin is not None:
        rec["p"] = 1
    if pc in m.SINGLE_PHASE:
        rec["single"] = 1
    eng.ledger.record(rec)
    res["stan"] = stan
    eng.display.show("working", flow=flow)
    final = None if rec.get("single") else m.FINAL_0110
    eng.ledger.entry(stan)["t0"] = eng.clock.ticks_ms()  # RAM only: the deadline's start
    try:
        reply = eng.club.request(
            msg, pan=card.pan, expiry=card.expiry, final=final, pin=pin, new_pin=new_pin
        )
    except NoResponse as e:
        if not e.sent:
            end(eng, stan, "unsent")
            fail(eng, res, FAILED, "unsent")
        elif rec.get("single"):
            end(eng, stan, "no answer")
            fail(eng, res, FAILED, "no_answer")
        else:
            # Possibly approved at the club (docs/protocol.md 6.2): only a reversal closes it.
            reverse(eng, eng.ledger.entry(stan), e.reason)
            res["reason"] = e.reason
            res["response_code"] = e.code
            if e.code is None:
                fail(eng, res, REVERSED, "no_response", reason=e.reason)
            else:  # answered, but not finally (63, 96 ...): shown as not completed
                res["outcome"] = REVERSED
                res["message"] = MESSAGES["not_final"]
                eng.display.show("reversed", reason=e.reason)
        return None
    eng.ledger.record({"k": "rsp", "s": stan, "rc": reply.rc, "rrn": reply.rrn})
    res["pin_verified"] = pin is not None and reply.rc in m.APPROVALS  # for the receipt
    return reply


def past_deadline(eng, entry):
    """True when phase two may no longer start: more than `confirm_deadline_s` (a margin
    inside the club's hold window, docs/terminal.md "Deadlines") since the 0100 left."""
    limit_ms = eng.config.get("confirm_deadline_s", CONFIRM_DEADLINE_S) * 1000
    t0 = entry.get("t0")
    return t0 is not None and eng.clock.ticks_ms() - t0 > limit_ms


def authorize(eng, res, flow, pc, amount, card, tags=None, account=None):
    """Phase one, with enrollment when the club answers 64; the Reply when approved (00, or
    10 to a split sale's 0100: agent/split.py), else None with res filled (declined,
    cancelled, reversed or failed)."""
    reply = phase_one(eng, res, flow, pc, amount, card, tags)
    if reply is not None and reply.rc == m.ENROLLMENT_REQUIRED:
        end(eng, res["stan"], "64")  # no hold: nothing to reverse
        from agent.enrollment_questions import collect_enrollment  # only then (heap)

        details = collect_enrollment(eng)
        if details is None:
            res["response_code"] = reply.rc
            fail(eng, res, CANCELLED, "enroll_cancelled")
            return None
        if tags:
            details.update(tags)
        pin = None
        if getattr(eng.keypad, "pin", None) and eng.config.get("pin_at_enrollment", True):
            from agent import pinentry  # the member may choose a PIN (docs/protocol.md 5.6)

            pin = pinentry.choose(eng)  # None: skipped
        reply = phase_one(eng, res, flow, pc, amount, card, details, pin)
        pin = None
    if reply is not None and reply.rc == m.INCORRECT_PIN:  # the club wants the PIN
        from agent import pinentry  # only then (heap)

        reply = pinentry.retry(eng, res, flow, pc, amount, card, tags, reply)
    if reply is None:
        return None
    fill(res, reply, account)
    if tags and m.TAG_COUPON_CODE in tags:  # docs/protocol.md 5.10
        from agent import coupon  # only with a coupon (heap)

        if coupon.read(eng, res, reply):  # 78: refused, shown, nothing held
            return None
    if reply.rc == m.PARTIAL_APPROVAL and not (tags and m.TAG_SPLIT_TENDER in tags):
        reverse(eng, eng.ledger.entry(res["stan"]), "ER")  # a hold nobody asked for: released
        res["outcome"], res["reason"], res["message"] = REVERSED, "ER", MESSAGES["terminal_error"]
        eng.display.show("reversed", reason="ER")
        return None
    if reply.rc not in m.APPROVALS:
        end(eng, res["stan"], reply.rc)
        res["outcome"] = DECLINED
        res["message"] = m.RESPONSE_CODES.get(reply.rc, ("", "Declined"))[1]
        eng.display.show("declined", code=reply.rc, message=res["message"])
        return None
    return reply


def fill(res, reply, account=None):
    """Copy what a 0110/0230 says into the result (fields 37, 39, 48, 54)."""
    res["response_code"] = reply.rc
    if reply.rrn:
        res["rrn"] = reply.rrn
    amounts = reply.amounts
    discount = fee = 0
    payable = None
    legs = []  # P1 of each leg of a split sale, or each share of its refund (agent/split.py)
    offer = False  # a 0230 carries balances only: the 0110's offer stays
    for key, value in amounts.items():
        kind = key[2:]
        if kind == m.AMOUNT_DISCOUNT:
            discount += value
        elif kind == m.AMOUNT_FEE:
            fee += value
        elif kind == m.AMOUNT_PAYABLE:
            payable = value + (payable or 0)
            legs.append({"account": key[:2], "amount": value})
        else:
            continue
        offer = True
    if offer:
        res["discount"] = discount
        res["fee"] = fee
        res["payable"] = res["amount"] - discount + fee if payable is None else payable
    if len(legs) > 1:  # in paying order: the credit account (60, 70) first, then 40 or 00
        res["legs"] = sorted(legs, key=lambda leg: leg["account"], reverse=True)
    if account is not None and account + m.AMOUNT_AVAILABLE in amounts:
        res["balance_after"] = amounts[account + m.AMOUNT_AVAILABLE]
    for tag, key in (
        (m.TAG_POINTS_EARNED, "points_earned"),
        (m.TAG_POINTS_BALANCE, "points_balance"),
    ):
        value = reply.number(tag)
        if value is not None:
            res[key] = value
    tier = reply.text(m.TAG_TIER)
    if tier:
        res["tier"] = tier
    text = reply.text(m.TAG_MESSAGE)
    if text:
        res["club_message"] = text


def end(eng, stan, why):
    """Close an open transaction that needs no phase two (declined, single phase, unsent)."""
    eng.ledger.record({"k": "end", "s": stan, "why": why})


def followup(eng, entry, mti, reason=None, bank_ref=None, condition=None, paid=None, legs=None):
    """A store-and-forward item (0220 or 0420) for the transaction of `entry`.

    Everything but the MTI and the KSN is fixed here, once: repeats must carry the same
    content (docs/protocol.md section 6). paid: what the customer paid (the payable), kept
    with a 0220 so a void gives back that, not field 4; legs: a split sale's [[account,
    amount], ...] (agent/split.py), kept for the day report and a void.
    """
    txn = entry["txn"]
    rsp = entry.get("rsp")
    now = eng.clock.now()
    fields = {"3": txn["pc"], "4": f"{txn['amt']:012d}", "11": eng.stans.next()}
    stamp(fields, now, eng.offset_s)
    fields["49"] = m.CURRENCY_IRR
    fields["90"] = "0100" + txn["s"] + txn["f7"] + "0" * 22
    if rsp is not None and rsp.get("rrn"):
        fields["37"] = rsp["rrn"]
    if condition:
        fields["25"] = condition
    tags = {}
    if bank_ref:
        tags[m.TAG_BANK_REFERENCE] = bank_ref
    if reason:
        tags[m.TAG_REVERSAL_REASON] = reason
    if tags:
        fields["48"] = binascii.hexlify(encode_tlv(tags)).decode()
    item = {"id": fields["11"], "mti": mti, "txn": txn["s"], "f": fields, "at": now}
    item["flow"] = txn["flow"]
    item["card"] = txn.get("card")
    if txn.get("pan"):
        item["pan"] = txn["pan"]
    if reason:
        item["reason"] = reason
    if paid is not None:
        item["paid"] = paid
    if legs:
        item["legs"] = legs
    return item


def reverse(eng, entry, reason, condition=None):
    """Queue a 0420 for the open transaction (durably, closing it) and try to send it now."""
    item = eng.saf.add(followup(eng, entry, "0420", reason=reason, condition=condition))
    eng.saf.drain(force=True)
    return item


def confirm(eng, entry, bank_ref=None, condition=None, paid=None, legs=None):
    """Queue the 0220 (durably, closing the transaction) and try to send it now; the 0230's
    Reply, or None when it is still queued."""
    item = followup(eng, entry, "0220", None, bank_ref, condition, paid, legs)
    item = eng.saf.add(item)
    eng.saf.drain(force=True)
    return eng.saf.last_reply.get(item["id"])


def bank_pay(eng, amount, card, txn_id):
    """Pay on the bank leg; on a timeout, ask its status before deciding (Adyen practice)."""
    try:
        outcome = eng.bank.pay(amount, card, txn_id)
    except OSError:
        outcome = {"status": "timeout", "reference": None}
    if outcome.get("status") == "timeout":
        status = bank_status(eng, txn_id)
        if status is not None and status.get("status") == "approved":
            return status  # charged after all: confirm, never reverse a paid sale
    return outcome


def bank_status(eng, txn_id):
    """The bank leg's status of txn_id, or None when it cannot say."""
    inquiry = getattr(eng.bank, "status", None)
    if inquiry is None:
        return None
    try:
        outcome = inquiry(txn_id)
    except OSError:
        return None
    if outcome.get("status") in ("approved", "declined", "cancelled"):
        return outcome
    return None


def confirmed(eng, res, entry, account=None, bank_ref=None, condition=None):
    """Phase two of an approved transaction; fills res from the 0230 when it comes.

    A 0230 that refuses the confirmation (12: the club had reversed it or released its hold)
    is not an approval: the result is declined; the journal keeps it as an exception for the
    day report (agent/ledger.py). A confirmation still queued is approved: the club holds the
    approval and the queue delivers it (docs/terminal.md "Store and forward").
    """
    legs = [[leg["account"], leg["amount"]] for leg in res.get("legs") or ()]
    reply = confirm(eng, entry, bank_ref, condition, res["payable"], legs)
    res["outcome"] = APPROVED
    if reply is not None:
        res["confirmed"] = reply.rc == m.APPROVED
        fill(res, reply, account)
        if not res["confirmed"]:
            res["outcome"] = DECLINED
            res["response_code"] = reply.rc
            res["points_earned"] = 0
            key = "bank_not_confirmed" if bank_ref else "not_completed"
            res["message"] = MESSAGES[key]
            eng.display.show("declined", code=reply.rc, message=res["message"])
            if bank_ref:  # the bank leg gave the charge back, or the cashier must
                from agent import bankback

                bankback.explain(eng, res)
            return res
    res["message"] = MESSAGES["approved" if res["confirmed"] else "queued"]
    return res
