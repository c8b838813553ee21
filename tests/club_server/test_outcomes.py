"""The table of test outcomes (docs/testing.md): every rule, against the real server."""

import socket
import time

import pytest

from agent.protocol import framing
from agent.protocol.errors import MacError
from simulator.club_server.outcomes import (
    BAD_MAC,
    DROP,
    PHASE_ONE,
    PHASE_TWO,
    RESPOND,
    REVERSAL,
    RULES,
    SLOW,
    TWICE,
    magic_card,
)
from simulator.club_server.seed import CARD_A
from tests.club_server.client import Closed
from tests.club_server.conftest import SLOW_DELAY
from tests.club_server.support import balance

CLUB = "006000"
# the coupon codes (QA78 + reason) answer 78 with a reason: tests/club_server/test_coupons.py
CODE_RULES = [r for r in RULES if r.effect == RESPOND and r.trigger != "coupon"]
AMOUNT_BEHAVIOURS = [r for r in RULES if r.trigger == "amount" and r.effect != RESPOND]


def send(t, msg, card=CARD_A):
    keys = t.next_keys()
    t.send_raw(framing.frame(t.seal(msg, t.secrets(card), keys)))
    return keys


def receive_as(t, keys, behaviour, sent_at):
    """The response, received the way the behaviour says it travels; None when dropped."""
    if behaviour == DROP:
        with pytest.raises((Closed, ConnectionError)):
            t.recv_frame()
        t.connect()
        return None
    if behaviour == SLOW:
        with pytest.raises(socket.timeout):
            t.recv_frame(timeout=SLOW_DELAY / 3)
        response = t.open(t.recv_frame(timeout=5), keys)
        assert time.monotonic() - sent_at >= SLOW_DELAY * 0.9
        return response
    data = t.recv_frame()
    if behaviour == BAD_MAC:
        with pytest.raises(MacError):
            t.open(data, keys)
        return "bad MAC"
    response = t.open(data, keys)
    if behaviour == TWICE:
        assert t.recv_frame() == data  # the same bytes again
    return response


@pytest.mark.parametrize("rule", CODE_RULES, ids=lambda r: f"{r.trigger}-{r.argument}")
def test_response_code_outcomes(server, terminal, rule):
    amount, card = (rule.value, CARD_A) if rule.trigger == "amount" else (100_000, rule.value)
    _, r = terminal.authorize(CLUB, amount, card)
    assert r.code == rule.argument
    assert r.rrn is None
    assert balance(server, CARD_A) == (5_000_000, 0)  # nothing held


@pytest.mark.parametrize("rule", AMOUNT_BEHAVIOURS, ids=lambda r: f"{r.value}-{r.phase}-{r.effect}")
def test_amount_behaviours_apply_once(server, terminal, rule):
    msg = terminal.request_0100(CLUB, rule.value)
    if rule.phase == PHASE_ONE:
        sent_at = time.monotonic()
        got = receive_as(terminal, send(terminal, msg), rule.effect, sent_at)
        # the terminal repeats (0101): the original answer, sent normally this time
        again = terminal.exchange(dict(msg, t="0101"), terminal.secrets(CARD_A))
        assert again.code == "00"
        if got not in (None, "bad MAC"):
            assert got.rrn == again.rrn
        assert balance(server, CARD_A)[1] == again.amounts["60P1"]  # held once
        return
    first = terminal.exchange(msg, terminal.secrets(CARD_A))
    assert first.code == "00"
    if rule.phase == PHASE_TWO:
        follow = terminal.follow_up("0220", msg, first.rrn)
    else:
        assert rule.phase == REVERSAL
        follow = terminal.follow_up("0420", msg, first.rrn, {0x0B: "CN"})
    sent_at = time.monotonic()
    got = receive_as(terminal, send(terminal, follow), rule.effect, sent_at)
    if got not in (None, "bad MAC"):
        assert got.code == "00"
    repeat = dict(follow, t=follow["t"][:3] + "1")
    assert terminal.exchange(repeat, terminal.secrets(CARD_A)).code == "00"
    paid = first.amounts["60P1"] if rule.phase == PHASE_TWO else 0
    assert balance(server, CARD_A) == (5_000_000 - paid, 0)  # done exactly once


@pytest.mark.parametrize(
    "code, effect", [("91", SLOW), ("92", DROP), ("93", TWICE), ("94", BAD_MAC)]
)
def test_card_behaviours_apply_to_every_phase_one(server, terminal, code, effect):
    card = magic_card(code)
    msg = terminal.request_0100(CLUB, 100_000)
    receive_as(terminal, send(terminal, msg, card), effect, time.monotonic())
    repeat = dict(msg, t="0101")
    receive_as(terminal, send(terminal, repeat, card), effect, time.monotonic())
    # the terminal gives up and reverses: that one is answered normally, the hold released
    assert terminal.reverse(msg, card, None, "TO").code == "00"
    assert balance(server, card)[1] == 0
