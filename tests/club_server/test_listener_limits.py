"""The club server's listener against peers that stall, flood or talk nonsense (docs/protocol.md
section 1): half a frame then nothing is closed after the frame timeout, a quiet connection
after the idle timeout (and not before), a peer that never reads its answers is dropped,
connections beyond the limit are closed at once, garbage is closed with a warning line and never
a traceback, and through all of it a real terminal is served.

Real sockets against a real server (run_in_thread), with short limits handed in.
"""

import contextlib
import logging
import random
import select
import socket
import time

import pytest

from agent.protocol import framing
from simulator.club_server.server import run_in_thread
from tests.club_server.client import Closed, Terminal


@pytest.fixture
def club(db_path, caplog):
    """start(**limits) -> a running ServerThread; afterwards: no traceback was logged."""
    caplog.set_level(logging.INFO, logger="vafa.club_server")
    running = []

    def start(**limits):
        handle = run_in_thread(db_path, **limits)
        running.append(handle)
        return handle

    yield start
    for handle in running:
        handle.stop()
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks, tracebacks
    assert "Traceback" not in caplog.text


def raw(port, data=b""):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if data:
        sock.sendall(data)
    return sock


def closed_within(sock, seconds):
    """True when the server closes the connection within `seconds` (EOF or a reset)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([sock], [], [], deadline - time.monotonic())[0]:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionError:
                return True
    return False


def still_open(sock):
    return not select.select([sock], [], [], 0)[0]


def served(port):
    """A real terminal gets its network message answered 00, quickly."""
    start = time.monotonic()
    assert Terminal(port).connect().network("301").code == "00"
    return time.monotonic() - start


HALF_FRAMES = [
    b"\x00",  # one byte of the length
    b"\x00\x40",  # a length of 64, no message
    b"\x00\x40" + bytes(20),  # 20 of its 64 bytes
]


@pytest.mark.parametrize("data", HALF_FRAMES, ids=["1 byte", "a length", "20 of 64 bytes"])
def test_half_a_frame_then_a_stall_is_closed_after_the_frame_timeout(club, data, caplog):
    server = club(idle_timeout=30.0, frame_timeout=0.5)
    start = time.monotonic()
    sock = raw(server.port, data)
    assert served(server.port) < 1.0  # meanwhile a terminal is served
    assert closed_within(sock, 3.0)
    assert 0.4 < time.monotonic() - start < 3.0
    assert "frame not complete 0.5 s after its first byte" in caplog.text
    sock.close()


def test_a_quiet_terminal_is_closed_after_the_idle_timeout_not_the_frame_timeout(club):
    server = club(idle_timeout=1.5, frame_timeout=0.3)
    terminal = Terminal(server.port).connect()
    time.sleep(0.8)  # quiet for longer than a frame may take: still connected
    assert terminal.network("301").code == "00"
    start = time.monotonic()
    with pytest.raises((Closed, ConnectionError)):
        terminal.recv_frame(timeout=4.0)
    assert 1.2 < time.monotonic() - start < 3.0


def test_many_stalled_connections_neither_block_nor_stay(club):
    server = club(idle_timeout=2.5, frame_timeout=0.5)
    halves = [raw(server.port, HALF_FRAMES[i % 3]) for i in range(60)]
    silent = [raw(server.port) for _ in range(60)]
    start = time.monotonic()
    for _ in range(5):
        assert served(server.port) < 1.0
    for sock in halves:  # at the frame timeout, long before the idle timeout
        assert closed_within(sock, 1.5 - (time.monotonic() - start))
    for sock in silent:
        assert still_open(sock)
    for sock in silent:
        assert closed_within(sock, 4.5 - (time.monotonic() - start))
    for sock in halves + silent:
        sock.close()
    assert server.server.stats["errors"] == 0


def test_connections_beyond_the_limit_are_closed_at_once(club, caplog):
    server = club(idle_timeout=30.0, frame_timeout=5.0, max_connections=5)
    held = [raw(server.port) for _ in range(5)]
    deadline = time.monotonic() + 5
    while server.server.stats["connections"] < 5:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    refused = [raw(server.port) for _ in range(20)]
    for sock in refused:
        assert closed_within(sock, 0.5)
        sock.close()
    with pytest.raises((Closed, ConnectionError)):
        Terminal(server.port).connect().network("301")
    assert server.server.stats["refused"] == 21
    warnings = [r for r in caplog.records if "max_connections" in r.getMessage()]
    assert len(warnings) == 1  # one line for the burst, not one per connection
    for sock in held:
        assert still_open(sock)
        sock.close()
    deadline = time.monotonic() + 5
    while True:  # the server notices the closes, then has room again
        with contextlib.suppress(Closed, ConnectionError):
            assert served(server.port) < 1.0
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_peer_that_never_reads_its_answers_is_dropped(club, caplog):
    server = club(idle_timeout=30.0, frame_timeout=0.5)
    terminal = Terminal(server.port, "VT000003", "VAFA00000000002", "5641464100000003")
    keys = terminal.next_keys()
    f7, _, _ = terminal.times()
    message = {"t": "0800", "7": f7, "11": "000001", "42": terminal.merchant_id.ljust(15),
               "70": "301"}  # fmt: skip
    request = framing.frame(terminal.seal(message, terminal.secrets(), keys))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    # The kernel would buffer megabytes of answers on loopback (send buffer autotuning): a
    # small send buffer on the server's end of this one connection makes it fill in a second.
    deadline = time.monotonic() + 5
    while not server.server._writers:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (writer,) = server.server._writers
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    burst = request * 64  # answered each time (a replay is 63, sealed and sent like any answer)
    start = time.monotonic()
    dropped = False
    while time.monotonic() - start < 10.0:
        if not select.select([], [sock], [], 0.1)[1]:
            continue  # the server stopped reading us: it waits for us to take its answers
        try:
            sock.send(burst)
        except BlockingIOError:
            continue
        except OSError:  # reset: the server closed the connection over our unread requests
            dropped = True
            break
    sock.close()
    assert dropped
    assert "answers not taken within 0.5 s, closing" in caplog.text
    assert served(server.port) < 1.0
    assert server.server.stats["errors"] == 0


GARBAGE = [
    b"GET / HTTP/1.1\r\nHost: club\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),  # a TLS hello
    b"\x00\x00",  # a zero length
    b"\xff\xff" + bytes(100),  # above 4096
    framing.frame(b"not ISO 8583"),
    framing.frame(b"0800" + b"\xff" * 16 + b"garbage"),
    framing.frame(b"0100\x40" + bytes(7) + b"12"),
    b"\x00\x40" + bytes(20),  # half a frame, then the peer closes
    bytes(range(256)) * 20,
]


def test_garbage_is_closed_without_a_traceback_and_stalls_do_not_stay(club):
    server = club(idle_timeout=30.0, frame_timeout=0.5)
    rng = random.Random(10)
    stalled = raw(server.port, b"\x00\x40")
    for data in GARBAGE + [rng.randbytes(rng.randrange(1, 600)) for _ in range(40)]:
        sock = raw(server.port, data)
        if data is GARBAGE[-2]:
            sock.shutdown(socket.SHUT_WR)
        assert closed_within(sock, 2.0), data[:40]
        sock.close()
    assert served(server.port) < 1.0
    assert closed_within(stalled, 2.0)
    stalled.close()
    assert server.server.stats["errors"] == 0
