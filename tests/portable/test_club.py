"""The club client: STANs, KSN before use, repeats, late responses, MAC failures."""

from agent.club import NoResponse, StanCounter
from agent.protocol.dukpt import TerminalDukpt
from agent.protocol.iso8583 import decode
from agent.storage import BlobStore, MemoryStorage
from tests.portable.fakehost import Terminal

# The scripted club host (tests/portable/fakehost.py) shares this process with the engine,
# which a device never carries. With the agent as bytecode (tools/run_micropython_tests.py)
# these tests pass from 216 KB (8 KB steps), so 256 KB, the default, leaves 16 %.
MICROPYTHON_HEAP = 262144


def request_0100(t, stan="000777"):
    return {
        "t": "0100",
        "3": "000000",
        "4": "000000010000",
        "7": "1114221320",
        "11": stan,
        "12": "015320",
        "13": "1115",
        "22": "051",
        "25": "00",
        "49": "364",
    }


def send(t, script, stan="000777", repeats=1):
    t.link.script = list(script)
    return t.engine.club.request(request_0100(t, stan), pan="98791121234567890", repeats=repeats)


def test_stan_counter_persists_and_wraps():
    storage = MemoryStorage()
    first = StanCounter(storage)
    assert first.next() == "000001" and first.next() == "000002"
    assert StanCounter(storage).next() == "000003"  # after a restart: never handed out twice
    storage.write_atomic("stan", b"999999")
    assert StanCounter(storage).next() == "000001"


def test_ksn_counter_is_saved_before_the_message_leaves():
    t = Terminal()
    seen = []
    original = t.link.exchange

    def exchange(payload, timeout_ms):
        saved = TerminalDukpt(BlobStore(t.storage, "dukpt"))
        seen.append(saved.counter)
        return original(payload, timeout_ms)

    t.link.exchange = exchange
    assert send(t, []).rc == "00"
    assert send(t, [], stan="000778").rc == "00"
    # the stored counter is already the next one when each message (counters 1, 2) goes out
    assert seen == [2, 3]


def test_timeout_then_repeat_gets_the_original_answer():
    t = Terminal()
    reply = send(t, ["drop"])
    assert reply.rc == "00" and reply.rrn == "000000000001"
    assert [e[:2] for e in t.host.log] == [("0100", "000777"), ("0101", "000777")]
    assert len(t.host.txns) == 1  # processed once


def test_repeat_has_same_content_and_a_new_ksn():
    t = Terminal()
    frames = []
    original = t.link.exchange

    def exchange(payload, timeout_ms):
        frames.append(payload)
        return original(payload, timeout_ms)

    t.link.exchange = exchange
    send(t, ["lost"])
    first, second = decode(frames[0]), decode(frames[1])
    assert (first["t"], second["t"]) == ("0100", "0101")
    assert first["53"] != second["53"]
    for field in ("3", "4", "7", "11", "12", "13", "42", "49"):
        assert first[field] == second[field], field


def test_no_answer_after_the_repeats():
    t = Terminal()
    try:
        send(t, ["drop", "drop"])
    except NoResponse as e:
        assert e.reason == "TO" and e.sent
    else:
        raise AssertionError("no NoResponse")


def test_late_response_is_discarded_not_matched():
    t = Terminal()
    reply = send(t, ["late"])  # the 0110 of the 0100 arrives during the 0101's window
    assert reply.rc == "00"
    assert t.engine.club.stats["late"] == 1
    # a late answer of an earlier transaction is not taken for the next one
    t2 = Terminal()
    try:
        send(t2, ["late"], stan="000001", repeats=0)
        raise AssertionError("answered in time")
    except NoResponse as e:
        assert e.reason == "TO"
    reply = send(t2, [], stan="000002")
    assert reply.message["11"] == "000002"
    assert t2.engine.club.stats["late"] == 1


def test_bad_mac_is_no_response():
    t = Terminal()
    assert send(t, ["badmac"]).rc == "00"
    assert t.engine.club.stats["mac"] == 1
    try:
        send(Terminal(), ["badmac", "badmac"])
    except NoResponse as e:
        assert e.reason == "MC"
    else:
        raise AssertionError("a response with a bad MAC was accepted")


def test_link_down_before_sending_is_not_sent():
    t = Terminal()
    try:
        send(t, ["down", "down"])
    except NoResponse as e:
        assert not e.sent
    else:
        raise AssertionError("no NoResponse")
    assert t.host.log == []
    # down once: the next attempt is the first that leaves, so it is a 0100, not a 0101
    t = Terminal()
    assert send(t, ["down"]).rc == "00"
    assert [e[0] for e in t.host.log] == ["0100"]


def test_broken_connection_after_sending_is_repeated():
    t = Terminal()
    assert send(t, ["cut"]).rc == "00"
    assert [e[0] for e in t.host.log] == ["0100", "0101"]
