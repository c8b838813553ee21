"""docs/protocol.md 4.3: the host's checks, in order, against a real server over TCP."""

import contextlib
import json
import logging
import random
import socket

import pytest

from agent.protocol import framing, protect
from simulator.club_server import host, phase_one
from simulator.club_server.seed import CARD_A, all_card_numbers
from simulator.club_server.server import ClubServer
from tests.club_server.client import Closed, Terminal


def sealed_0100(terminal, amount=100_000, card=CARD_A):
    keys = terminal.next_keys()
    msg = terminal.request_0100("000000", amount)
    return msg, keys, terminal.seal(msg, terminal.secrets(card), keys)


def test_the_same_bytes_twice_get_the_recorded_answer(terminal, server):
    """docs/protocol.md 6.1: the network delivered a 0100 twice; the copy gets the first
    answer again (same RRN, same offer) and nothing moves a second time."""
    _, keys, data = sealed_0100(terminal, card=CARD_A)
    first = terminal.exchange_raw(data, keys)
    copy = terminal.exchange_raw(data, keys)
    assert first.code == copy.code == "00"
    assert copy.rrn == first.rrn
    assert copy.message.get("54") == first.message.get("54")
    assert copy.message.get("48") == first.message.get("48")
    assert server.call(lambda store: store.table_counts()["txns"]) == 1


def _records(server):
    def rows(store):
        return store._all("SELECT mti_class, response FROM requests")

    return server.call(rows)


def test_the_request_record_keeps_only_what_the_request_does_not_give(terminal, server):
    """host.py: the record of an answered request holds field 39 and what the handler added;
    the copy gets the whole answer back, echoed fields included, as the first had it."""
    _, keys, data = sealed_0100(terminal, card=CARD_A)
    first = terminal.exchange_raw(data, keys)
    [record] = _records(server)
    assert record["mti_class"] == "010"
    kept = set(json.loads(record["response"]))
    assert {"39", "37", "38"} <= kept <= {"39", "37", "38", "48", "54"}
    copy = terminal.exchange_raw(data, keys)
    drop = ("53", "64")  # the KSN and MAC of each sealing
    assert {k: v for k, v in copy.message.items() if k not in drop} == {
        k: v for k, v in first.message.items() if k not in drop
    }


def test_a_whole_answer_recorded_before_is_still_sent_again(terminal, server):
    """Records made before they were cut down hold the whole answer (with its MTI)."""
    _, keys, data = sealed_0100(terminal, card=CARD_A)
    first = terminal.exchange_raw(data, keys)
    whole = {k: v for k, v in first.message.items() if k not in ("53", "64")}

    def put_whole(store):
        store._run("UPDATE requests SET response = ?", (host.dump_response(whole),))

    server.call(put_whole)
    copy = terminal.exchange_raw(data, keys)
    assert copy.code == "00" and copy.rrn == first.rrn
    assert copy.message.get("54") == first.message.get("54")
    assert copy.message["3"] == first.message["3"] and copy.message["t"] == "0110"


def test_an_older_counter_is_a_replay(terminal):
    _, old_keys, old = sealed_0100(terminal)
    _, new_keys, new = sealed_0100(terminal)
    assert terminal.exchange_raw(new, new_keys).code == "00"
    assert terminal.exchange_raw(old, old_keys).code == "63"


def test_a_copy_with_other_content_under_an_old_counter_is_a_replay(terminal):
    """Same STAN and field 7 as an answered request, other content, an older KSN: 63, not
    the recorded answer (a copy must be a copy)."""
    msg, keys, data = sealed_0100(terminal, amount=100_000)
    assert terminal.exchange_raw(data, keys).code == "00"
    other = dict(msg, **{"4": f"{200_000:012d}"})
    forged = terminal.seal(other, terminal.secrets(CARD_A), keys)
    assert terminal.exchange_raw(forged, keys).code == "63"


def test_the_replay_counter_survives_a_restart(db_path):
    handle = ClubServer(db_path).run_in_thread()
    t = Terminal(handle.port).connect()
    _, old_keys, old = sealed_0100(t)
    _, keys, data = sealed_0100(t)
    assert t.exchange_raw(data, keys).code == "00"
    handle.stop()
    handle = ClubServer(db_path).run_in_thread()
    try:
        t.port = handle.port
        t.connect()
        assert t.exchange_raw(old, old_keys).code == "63"
        assert t.exchange_raw(data, keys).code == "00"  # the copy: its recorded answer
    finally:
        t.close()
        handle.stop()


def test_a_counter_is_recorded_only_after_the_mac_verified(terminal):
    _, keys, data = sealed_0100(terminal)
    forged = data[:-1] + bytes([data[-1] ^ 0x01])
    assert terminal.exchange_raw(forged, keys).code == "63"
    assert terminal.exchange_raw(data, keys).code == "00"  # the counter was still free


def test_a_changed_amount_fails_the_mac(terminal):
    msg, keys, data = sealed_0100(terminal)
    at = data.index(msg["4"].encode())
    tampered = data[:at] + b"9" + data[at + 1 :]
    assert terminal.exchange_raw(tampered, keys).code == "63"


def test_every_single_byte_change_is_refused(server):
    """Flip one bit at every position of a 0100: the answer is 63 (MAC) or 30 (format), or the
    connection is closed (undecodable, unknown key id) - never an approval."""
    t = Terminal(server.port).connect()
    _, keys, data = sealed_0100(t)
    seen = set()
    for i in range(len(data)):
        tampered = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        try:
            t.send_raw(framing.frame(tampered))
            frame = t.recv_frame()
        except (Closed, ConnectionError):
            seen.add("closed")
            t.connect()
            continue
        try:
            r = t.open(frame, keys)
        except Exception:
            seen.add("answer under another KSN")  # a changed KSN counter: its own keys
            continue
        assert r.code in ("63", "30"), (i, r)
        seen.add(r.code)
    assert "63" in seen and "closed" in seen
    assert t.exchange_raw(data, keys).code == "00"  # the original still goes through


def test_unknown_initial_key_id_closes_the_connection(server):
    t = Terminal(server.port, ikid="5641464199999999").connect()
    with pytest.raises(Closed):
        t.network("301")


class UnderivableKeys:
    """Keys of a KSN no terminal may use: only the KSN matters, the host closes before MAC."""

    def __init__(self, ksn):
        self.ksn = ksn
        self.mac_generation = self.data_encrypt = bytes(16)


@pytest.mark.parametrize("counter", [0, 0x0001FFFF])  # counter 0; 17 one-bits
def test_unusable_counter_closes_the_connection(server, counter):
    t = Terminal(server.port).connect()
    keys = UnderivableKeys(t.ikid + counter.to_bytes(4, "big"))
    msg = t.request_0100("000000", 100_000)
    t.send_raw(framing.frame(t.seal(msg, t.secrets(CARD_A), keys)))
    with pytest.raises(Closed):
        t.recv_frame()


def test_terminal_id_not_matching_the_key_is_03(terminal):
    msg = terminal.request_0100("000000", 100_000)
    r = terminal.exchange(msg, terminal.secrets(CARD_A, terminal_id="VT000002"))
    assert r.code == "03" and "37" not in r.message


def test_merchant_not_matching_the_terminal_is_03(terminal):
    terminal.merchant_id = "VAFA00000000002"
    _, r = terminal.authorize("000000", 100_000, CARD_A)
    assert r.code == "03"


def test_unregistered_terminal_is_03(server):
    t = Terminal(server.port, "VT000099", "VAFA00000000001", "5641464100000099").connect()
    assert t.network("001").code == "03"
    _, r = t.authorize("000000", 100_000, CARD_A)
    assert r.code == "03"


def test_sign_on_echo_key_change(terminal):
    assert terminal.network("001").code == "00"
    assert terminal.network("301").code == "00"
    assert terminal.network("002").code == "00"
    assert terminal.network("161").code == "12"  # no key change pending


def test_protected_data_that_does_not_decrypt_is_63(terminal):
    keys = terminal.next_keys()
    msg = terminal.request_0100("000000", 100_000)
    msg["62"] = bytes(range(32))  # not a ciphertext of padded TLV under this key
    data = protect.seal(msg, keys, protect.REQUEST, None)
    assert terminal.exchange_raw(data, keys).code == "63"


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.pop("22"),  # a mandatory field missing
        lambda m: m.update({"54": "60021234"}),  # a field 0100 does not carry
        lambda m: m.update({"49": "840"}),  # not rials
        lambda m: m.update({"25": "99"}),  # no such condition code
    ],
)
def test_format_errors_are_30(terminal, change):
    msg = terminal.request_0100("000000", 100_000)
    change(msg)
    r = terminal.exchange(msg, terminal.secrets(CARD_A))
    assert r.code == "30"


def test_a_0220_without_rrn_is_30(terminal):
    msg, _ = terminal.authorize("000000", 100_000, CARD_A)
    confirm = terminal.follow_up("0220", msg)
    assert terminal.exchange(confirm, terminal.secrets(CARD_A)).code == "30"


@pytest.mark.parametrize(
    "frame_bytes",
    [
        b"\x00\x00",  # zero length
        b"\x10\x01" + bytes(10),  # above 4096
        framing.frame(b"not ISO 8583 at all"),
        framing.frame(b"0100" + bytes(8)),  # no fields
        framing.frame(b"0100\x40" + bytes(7) + b"12"),  # bit 2: a field not in the profile
        framing.frame(b"9999" + bytes(8)),  # not a request MTI
    ],
)
def test_frames_that_do_not_decode_close_the_connection(server, frame_bytes):
    t = Terminal(server.port).connect()
    t.send_raw(frame_bytes)
    with pytest.raises((Closed, ConnectionError)):
        t.recv_frame()
    assert t.connect().network("301").code == "00"  # and the server goes on


def test_random_input_never_stops_the_server(server):
    rng = random.Random(8583)
    for _ in range(200):
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
            size = rng.randrange(1, 300)
            s.sendall(size.to_bytes(2, "big") + rng.randbytes(size))
            s.settimeout(2)
            with contextlib.suppress(TimeoutError, ConnectionError):
                s.recv(100)
    assert Terminal(server.port).connect().network("301").code == "00"
    assert server.server.stats["errors"] == 0


def test_a_handler_failure_is_96_and_rolled_back(server, terminal, monkeypatch, caplog):
    def broken(ctx, card, amount):
        raise RuntimeError("simulated bug")

    monkeypatch.setitem(phase_one.HANDLERS, "000000", broken)
    caplog.set_level(logging.ERROR, logger="vafa.club_server")
    msg, r = terminal.authorize("000000", 100_000, CARD_A)
    assert r.code == "96"
    assert "simulated bug" in caplog.text
    monkeypatch.undo()
    # not recorded as answered: the repeat is processed anew
    again = dict(msg, t="0101")
    assert terminal.exchange(again, terminal.secrets(CARD_A)).code == "00"


def test_after_a_handler_failure_its_counter_stays_used_and_its_work_is_gone(
    server, terminal, monkeypatch
):
    """docs/protocol.md 4.3 steps 4 and 6: the handler's writes are undone, the KSN counter is
    not (the server's group commit rolls back to the request's start and records it again):
    the same bytes again are a replay, 63, not a second try."""

    def broken(ctx, card, amount):
        ctx.store.add_txn(
            terminal_id=terminal.terminal_id,
            merchant_id="X",
            proc="000000",
            amount=amount,
            state="approved",
            stan="000000",
            f7="0000000000",
            created_at=0.0,
        )
        raise RuntimeError("simulated bug after a write")

    monkeypatch.setitem(phase_one.HANDLERS, "000000", broken)
    _, keys, data = sealed_0100(terminal)
    assert terminal.exchange_raw(data, keys).code == "96"
    monkeypatch.undo()
    assert server.call(lambda store: store.table_counts()["txns"]) == 0
    assert terminal.exchange_raw(data, keys).code == "63"
    r = terminal.authorize("000000", 100_000, CARD_A)[1]  # the next counter works
    assert r.code == "00" and r.rrn == "000000000001"


def test_logs_carry_no_card_number(server, terminal, caplog):
    caplog.set_level(logging.DEBUG, logger="vafa.club_server")
    for card in all_card_numbers()[:8]:
        terminal.purchase("006000", 1_000, card)
    terminal.send_raw(framing.frame(b"garbage"))
    with pytest.raises((Closed, ConnectionError)):
        terminal.recv_frame()
    assert caplog.records
    for card in all_card_numbers():
        assert card not in caplog.text
