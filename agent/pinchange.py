"""PIN change at the terminal (docs/protocol.md 4.5, processing code 920000).

Single phase, like a balance inquiry: the cardholder types the new PIN twice, the terminal
sends a 0100 920000 (amount zero) with the new PIN's block in field 62 tag 04; a card that has
a PIN is answered 55 R, and the current PIN is asked (agent/pinentry.retry) and sent in field
52 with the new one again. Nothing is held, so nothing is confirmed or reversed; when no answer
comes, the terminal cannot know which PIN is the card's and says so.
"""

from agent import pinentry, steps
from agent.protocol import messages as m

FLOW = "pin_change"


def pin_change(eng, card=None):
    res = steps.new_result(FLOW, 0)
    card = steps.start(eng, res, card, need_paper=False)
    if card is None:
        return res
    new_pin = pinentry.choose(eng)
    if new_pin is None:
        return steps.fail(eng, res, steps.CANCELLED, "pin_cancelled")
    reply = steps.phase_one(eng, res, FLOW, m.PIN_CHANGE, 0, card, new_pin=new_pin)
    if reply is not None and reply.rc == m.INCORRECT_PIN:
        reply = pinentry.retry(eng, res, FLOW, m.PIN_CHANGE, 0, card, None, reply, new_pin)
    new_pin = None
    if reply is None:
        if res["outcome"] == steps.FAILED and res["message"] == steps.MESSAGES["no_answer"]:
            steps.fail(eng, res, steps.FAILED, "pin_unknown")
        return res
    steps.end(eng, res["stan"], "single")
    res["response_code"] = reply.rc
    if reply.rc not in m.FINAL_0110:  # 63, 94, 96...: the original may have changed it (6.2)
        return steps.fail(eng, res, steps.FAILED, "pin_unknown")
    if reply.rc == m.APPROVED:
        res["rrn"] = reply.rrn
        return steps.fail(eng, res, steps.APPROVED, "pin_changed")
    res["outcome"] = steps.DECLINED
    res["message"] = m.RESPONSE_CODES.get(reply.rc, ("", "Declined"))[1]
    eng.display.show("declined", code=reply.rc, message=res["message"])
    return res
