"""The cardholder's PIN, asked when the club wants it (docs/protocol.md 4.5, docs/terminal.md
"PIN").

The club answers a 0100 that needs the PIN and carried none with 55 and field 48 tag 14 "R",
and a wrong PIN with 55 tag 14 "W" (tag 13: the tries left before the PIN is blocked); both
are final and hold nothing. Then the terminal closes that 0100 in its journal, asks the PIN
on the keypad (masked) and sends a new 0100 (new STAN) with field 52. It asks at most
PIN_ASKS times per sale; a 55 without tag 14, or with no try left, and a 75 end the sale.

The PIN lives in RAM only: the keypad's digits become a format 4 PIN field here at once
(random fill from the engine's rng) and the digits are dropped; the club link enciphers the
field for each attempt under that attempt's PIN key (agent/club.py). The journal keeps a "p"
mark on the "txn" record, never the PIN or a block: after a power cut nothing needs it, an
unanswered 0100 with a PIN is reversed (PF) like any other (agent/recovery.py).
"""

from agent import steps
from agent.protocol import messages as m
from agent.protocol import pinblock
from agent.protocol.errors import CryptoError

PIN_ASKS = 3  # PIN entries per sale, at most (the club blocks after its own count)
CHOOSE_TRIES = 2  # a new PIN typed twice that differs: asked again once, then given up
SCREENS = {m.PIN_REQUIRED: "pin", m.PIN_WRONG: "pin_wrong"}


def ask(eng, screen, **params):
    """A PIN field from the keypad, or None (cancelled, no PIN keypad, not 4..12 digits)."""
    pin_of = getattr(eng.keypad, "pin", None)
    if pin_of is None:
        return None
    params["masked"] = ""
    eng.display.show(screen, **params)
    digits = pin_of(screen, **params)
    if not digits:
        return None
    try:
        return pinblock.pin_field(str(digits), bytes(eng.rng(8)))
    except CryptoError:  # the keypad let through something that is no PIN: as cancelled
        return None


def choose(eng):
    """A new PIN the cardholder types twice (enrollment, PIN change), as a PIN field; None
    when cancelled, skipped, or the two entries differ CHOOSE_TRIES times."""
    for _ in range(CHOOSE_TRIES):
        first = ask(eng, "pin_new")
        if first is None:
            return None
        again = ask(eng, "pin_again")
        if again is None:
            return None
        if first[:8] == again[:8]:  # the same digits (the fills differ)
            return first
        eng.display.show("pin_mismatch")
    return None


def retry(eng, res, flow, pc, amount, card, tags, reply, new_pin=None):
    """The club's answer after the PIN was given as often as it asked for it (the reply to
    pass on), or None when the cardholder cancelled (res filled: cancelled, nothing held).
    new_pin: a PIN change's new PIN field, sent again with each attempt."""
    asks = 0
    while reply is not None and reply.rc == m.INCORRECT_PIN and asks < PIN_ASKS:
        screen = SCREENS.get(reply.text(m.TAG_PIN_STATE))
        left = reply.number(m.TAG_PIN_TRIES_LEFT)
        if screen is None or not left:
            break
        steps.end(eng, res["stan"], reply.rc)  # 55 is final and holds nothing
        pin = ask(eng, screen, tries_left=left, amount=amount)
        if pin is None:
            res["response_code"] = reply.rc
            steps.fail(eng, res, steps.CANCELLED, "pin_cancelled")
            return None
        asks += 1
        reply = steps.phase_one(eng, res, flow, pc, amount, card, tags, pin, new_pin)
        pin = None
    return reply
