"""Coupon and campaign codes at the till (docs/protocol.md 5.10): the terminal's side.

The cashier keys in (or scans, as keyboard input) a code before the card; a purchase flow
(agent/flows.py: bank, club credit, store credit, cash) sends it in the 0100's field 48 tag
0F. The club answers the coupon's discount inside field 54 D1 (tag 12 says how much of it is
the coupon's) with its description in tag 10, or refuses it with 78 and a reason in tag 11:
final, nothing held, the cashier may sell again without the coupon.

Nothing here is journaled: the club holds the coupon's use with the approval and consumes it
with the 0220, or gives it back with the 0420 that recovery sends for an unfinished sale, so
the terminal's journal and queue already carry everything a power cut needs.
"""

from agent.protocol import messages as m

CODE_MIN = 4
CODE_MAX = 16
CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# what a scanner or a cashier may add around a code: dropped before it is checked
SEPARATORS = " -\t\r\n"

# refusal reason (48 tag 11) -> the words on the screen and in the result ("m" rows of
# agent/display/screens.py give them in Persian)
REASONS = {
    "TX": "Not for this sale",
    "UK": "Unknown code",
    "DS": "Code disabled",
    "EX": "Code expired",
    "ST": "Not for this store",
    "MB": "For another member",
    "MN": "Purchase below minimum",
    "US": "Code used up",
}


def normalize(text):
    """The code as sent: uppercase, without spaces or dashes; ValueError when it is not 4..16
    letters A-Z and digits (checked before anything is sent: a bad code holds nothing)."""
    code = ""
    for ch in str(text):
        if ch not in SEPARATORS:
            code += ch.upper() if "a" <= ch <= "z" else ch
    if not CODE_MIN <= len(code) <= CODE_MAX or any(ch not in CODE_CHARS for ch in code):
        raise ValueError(f"coupon code must be {CODE_MIN} to {CODE_MAX} letters A-Z and digits 0-9")
    return code


def prepare(res, code, tags=None):
    """The 0100's field 48 items with the coupon (tags, or a new dict), the result keyed
    with it; tags unchanged when there is no coupon."""
    if code is None or code == "":
        return tags
    code = normalize(code)
    res["coupon"] = code
    res["coupon_discount"] = None
    res["coupon_text"] = None
    res["coupon_reason"] = None
    tags = dict(tags) if tags else {}
    tags[m.TAG_COUPON_CODE] = code
    return tags


def read(eng, res, reply):
    """What the 0110 says of the coupon (after steps.fill). True when the club refused it (78):
    the sale is closed as declined and shown; nothing was held."""
    if reply.rc == m.COUPON_REFUSED:
        from agent import steps

        reason = reply.text(m.TAG_COUPON_REASON) or ""
        words = REASONS.get(reason, "Coupon refused")
        steps.end(eng, res["stan"], reply.rc)
        res["coupon_reason"] = reason
        res["outcome"] = steps.DECLINED
        res["message"] = "Coupon refused: " + words
        eng.display.show("coupon_refused", coupon=res["coupon"], message=words)
        return True
    if reply.rc in m.APPROVALS:  # 10: a split sale's credit part (agent/split.py)
        res["coupon_discount"] = reply.number(m.TAG_COUPON_DISCOUNT) or 0
        res["coupon_text"] = reply.text(m.TAG_COUPON_TEXT)
        eng.display.show(
            "coupon",
            coupon=res["coupon"],
            text=res["coupon_text"],
            discount=res["coupon_discount"],
        )
    return False
