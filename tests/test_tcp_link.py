"""agent/links/tcp.py against a real TCP server, under CPython and under MicroPython.

The server is a thread here: it frames like the club (2-byte length) and behaves by the first
bytes of each payload ("slow", "mute", "close", "idle-close"; anything else is answered
b"R" + payload). The engine end-to-end test serves the portable tests' FakeHost over TCP.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.links import LinkDown, LinkTimeout
from agent.links.tcp import TcpClubLink
from tests.portable.fakehost import FakeHost, Terminal, card

ROOT = Path(__file__).resolve().parent.parent
MICROPYTHON = Path(sys.executable).parent / "micropython"


def frame(payload):
    return len(payload).to_bytes(2, "big") + payload


class FramedServer:
    def __init__(self, answer=None):
        self.answer = answer or self.echo
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        threading.Thread(target=self.accept, daemon=True).start()

    @staticmethod
    def echo(payload):
        return b"R" + payload

    def accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        buf = b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                    size = int.from_bytes(buf[:2], "big")
                    payload, buf = buf[2 : 2 + size], buf[2 + size :]
                    if payload.startswith(b"close"):
                        return
                    if payload.startswith(b"mute"):
                        continue
                    if payload.startswith(b"slow"):
                        time.sleep(0.4)
                    conn.sendall(frame(self.answer(payload)))
                    if payload.startswith(b"idle-close"):
                        time.sleep(0.1)
                        return

    def stop(self):
        self.running = False
        self.sock.close()


@pytest.fixture
def server():
    s = FramedServer()
    yield s
    s.stop()


def test_exchange_and_reuse_of_the_connection(server):
    link = TcpClubLink("127.0.0.1", server.port)
    assert link.exchange(b"one", 2000) == b"Rone"
    assert link.exchange(b"two", 2000) == b"Rtwo"
    assert server.connections == 1
    link.close()


def test_timeout_keeps_the_connection_and_the_late_answer(server):
    link = TcpClubLink("127.0.0.1", server.port)
    started = time.monotonic()
    with pytest.raises(LinkTimeout):
        link.exchange(b"slow", 150)
    assert time.monotonic() - started < 0.35
    # the late answer comes first; the club client discards it and reads on
    assert link.exchange(b"next", 2000) == b"Rslow"
    assert link.receive(2000) == b"Rnext"


def test_refused_connection_is_not_sent():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(LinkDown) as e:
        TcpClubLink("127.0.0.1", port, connect_timeout_ms=500).exchange(b"x", 500)
    assert e.value.sent is False


def test_broken_connection_after_sending_may_be_sent(server):
    link = TcpClubLink("127.0.0.1", server.port)
    with pytest.raises(LinkDown) as e:
        link.exchange(b"close", 2000)
    assert e.value.sent is True
    assert link.exchange(b"back", 2000) == b"Rback"  # reconnects on demand
    assert link.connects == 2


def test_idle_close_by_the_host_reconnects_without_error(server):
    link = TcpClubLink("127.0.0.1", server.port)
    assert link.exchange(b"idle-close", 2000) == b"Ridle-close"
    time.sleep(0.3)  # the host closed the idle connection meanwhile
    assert link.exchange(b"fresh", 2000) == b"Rfresh"
    assert link.connects == 2


def test_oversized_frame_from_the_host_breaks_the_link():
    s = FramedServer(answer=lambda payload: b"x" * 5000)
    try:
        link = TcpClubLink("127.0.0.1", s.port)
        with pytest.raises(LinkDown):
            link.exchange(b"big", 2000)
        assert link.sock is None
    finally:
        s.stop()


MICROPYTHON_SCRIPT = """
from agent.links.tcp import TcpClubLink
from agent.links import LinkTimeout, LinkDown
link = TcpClubLink("127.0.0.1", PORT)
assert link.exchange(b"hello", 2000) == b"Rhello"
try:
    link.exchange(b"slow", 150)
    raise AssertionError("no timeout")
except LinkTimeout:
    pass
assert link.exchange(b"after", 2000) == b"Rslow"
assert link.receive(2000) == b"Rafter"
try:
    link.exchange(b"close", 2000)
    raise AssertionError("no LinkDown")
except LinkDown as e:
    assert e.sent
assert link.exchange(b"again", 2000) == b"Ragain"
print("micropython tcp ok")
"""


@pytest.mark.skipif(not MICROPYTHON.exists(), reason="micropython unix binary not installed")
def test_the_same_link_under_micropython(server, tmp_path):
    script = tmp_path / "tcp_check.py"
    script.write_text(MICROPYTHON_SCRIPT.replace("PORT", str(server.port)))
    env = dict(os.environ, MICROPYPATH=".frozen:.")
    out = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=262144", str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "micropython tcp ok" in out.stdout


def test_engine_over_tcp_against_the_test_host():
    host = FakeHost()
    lock = threading.Lock()

    def answer(payload):
        with lock:
            return host.handle(payload)

    s = FramedServer(answer=answer)
    try:
        t = Terminal(host=host)
        t.engine.club.link = TcpClubLink("127.0.0.1", s.port)
        t.engine.recover()
        res = t.engine.purchase_bank(1200000, card())
        assert res["outcome"] == "approved" and res["confirmed"]
        assert res["payable"] == 1080000
        assert t.engine.close_day()["response_code"] == "00"
    finally:
        s.stop()
