"""A void's result as the club's answer, or the queue, has it (docs/terminal.md "Voids").

A void's 0420 VD that got no final answer stays queued: the club may still refuse it (12:
another Tehran day, after a reconciliation), so it is not a void yet. The result is "pending"
(ECR result 05, docs/ecr.md 3.5): screen "void_queued", no void receipt, the cashier gives
nothing back. A refusal that comes later from the queue is listed by the day report
(agent/ledger.py: the refused 0420 VD joins `exceptions`, marked "void").

Imported by agent/flows.py void_last once its 0420 is queued (the heap: voids are rare).
"""

from agent.protocol import messages as m

PENDING = "pending"
MESSAGES = {
    "voided": "Voided",
    "void_queued": "Void queued: not confirmed yet",
}


def finish(eng, res, item):
    """Send the queued 0420 VD `item` now and end the void's flow; an error after it was
    queued (a printer, a screen) is answered as the queue has it, never "failed"."""
    try:
        eng.saf.drain(force=True)
        return answer(eng, res, eng.saf.last_reply.get(item["id"]))
    except Exception as e:
        if not state(eng, res, item):
            raise
        res["error"] = type(e).__name__ + ": " + str(e)
        return res


def answer(eng, res, reply):
    """The result, screen and receipts of the void from the 0430 `reply` (None: queued)."""
    from agent import flows, steps

    if reply is None:
        res["outcome"] = PENDING
        res["message"] = MESSAGES["void_queued"]
        eng.display.show("void_queued", payable=res["payable"])
        return res
    res["response_code"] = reply.rc
    res["confirmed"] = reply.rc == m.APPROVED
    if res["confirmed"]:
        res["outcome"] = steps.APPROVED
        res["message"] = MESSAGES["voided"]
        return flows.finish(eng, res, "void")
    res["outcome"] = steps.DECLINED
    res["message"] = m.RESPONSE_CODES.get(reply.rc, ("", "Declined"))[1]
    eng.display.show("declined", code=reply.rc, message=res["message"])
    return res


def state(eng, res, item):
    """Fill res from where the 0420 VD `item` is now: still queued (pending), done 00
    (approved, voided), refused (declined); False when the journal cannot tell."""
    ledger = eng.ledger
    if ledger.item(item["id"]) is not None:
        res["outcome"] = PENDING
        res["message"] = MESSAGES["void_queued"]
        return True
    last = ledger.last
    if last is not None and last["q"].get("txn") == item["txn"] and last["state"] == "voided":
        res["outcome"] = "approved"
        res["confirmed"] = True
        res["message"] = MESSAGES["voided"]
        return True
    for exc in ledger.exceptions:
        if exc.get("void") and exc.get("id") == item["id"]:
            res["outcome"] = "declined"
            res["response_code"] = exc["rc"]
            res["message"] = m.RESPONSE_CODES.get(exc["rc"], ("", "Declined"))[1]
            return True
    return False
