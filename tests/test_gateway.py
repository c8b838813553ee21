"""The host link's gateway (simulator/gateway) against the device's end (agent/hostlink, here
under CPython) over a real socket pair as the serial line, with real TCP peers behind the
gateway: what a device sees when a service is unknown or unreachable, a cashier connecting, a
cashier flooding, the club link's frames both ways, and a line cut then restored."""

import contextlib
import socket
import threading
import time

import pytest

from agent.hostlink.errors import ChannelClosed
from agent.hostlink.mux import Mux
from agent.hostlink.services import HostClubLink, HostEcrPort
from agent.links import LinkDown
from agent.ports import SystemClock
from agent.protocol.framing import FrameReader, frame
from simulator.fil.terminal import free_port
from simulator.gateway import FaultyLine, Gateway, SocketLine


class SocketPort:
    """The device's serial port as one end of a socket pair."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.setblocking(False)

    def read(self, n, timeout_ms=0):
        import select

        if not select.select([self.sock], [], [], max(timeout_ms, 0) / 1000)[0]:
            return b""
        try:
            return self.sock.recv(n)
        except BlockingIOError:
            return b""

    def write(self, data):
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)


class EchoClub:
    """A TCP server answering each 2-byte-length frame with b"re:" + the frame."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        reader = FrameReader()
        with conn:
            while data := conn.recv(4096):
                for payload in reader.feed(data):
                    conn.sendall(frame(b"re:" + payload))

    def close(self):
        self.listener.close()


@pytest.fixture
def rig():
    club = EchoClub()
    device_end, gateway_end = socket.socketpair()
    closed_port = free_port()
    services = {
        "club": ("connect", "127.0.0.1", club.port),
        "down": ("connect", "127.0.0.1", closed_port),
        "ecr": ("listen", "127.0.0.1", 0),
    }
    line = FaultyLine(SocketLine.from_socket(gateway_end))
    gateway = Gateway(line, services).start()
    mux = Mux(SocketPort(device_end), SystemClock(), __import__("os").urandom)
    assert mux.wait(lambda: mux.up, 5000)
    yield mux, gateway, line, club
    gateway.stop()
    club.close()
    device_end.close()


def test_the_club_link_through_the_gateway(rig):
    mux, gateway, _, club = rig
    link = HostClubLink(mux)
    assert link.exchange(b"0800 hello", 5000) == b"re:0800 hello"
    assert link.exchange(bytes(range(256)) * 10, 5000) == b"re:" + bytes(range(256)) * 10
    assert club.connections == 1 and gateway.link.up


def test_an_unknown_or_unreachable_service_never_left_the_terminal(rig):
    mux, *_ = rig
    for service, reason in (("nosuch", "refused"), ("down", "unreachable")):
        started = time.monotonic()
        with pytest.raises(LinkDown) as e:
            HostClubLink(mux, service).exchange(b"0800", 5000)
        assert e.value.sent is False and reason in str(e.value)
        assert time.monotonic() - started < 2


def test_a_cashier_connects_and_a_new_connection_replaces_it(rig):
    mux, gateway, *_ = rig
    port = HostEcrPort(mux)
    first = socket.create_connection(("127.0.0.1", gateway.port("ecr")))
    first.sendall(b"\x02one")
    got = b""
    deadline = time.monotonic() + 5
    while b"one" not in got and time.monotonic() < deadline:
        got += port.read(100)
    assert got == b"\x02one" and port.generation == 1
    port.write(b"\x06ack")
    assert first.recv(10) == b"\x06ack"
    second = socket.create_connection(("127.0.0.1", gateway.port("ecr")))
    deadline = time.monotonic() + 5
    while port.generation == 1 and time.monotonic() < deadline:
        port.read(100)
    assert port.generation == 2
    first.settimeout(5)
    assert first.recv(10) == b""  # the replaced cashier's connection is closed
    second.close()


def test_a_flooding_cashier_is_held_back_by_the_window(rig):
    mux, gateway, *_ = rig
    port = HostEcrPort(mux)
    cashier = socket.create_connection(("127.0.0.1", gateway.port("ecr")))
    cashier.setblocking(False)
    flood = bytes(64 << 20)
    sent = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with contextlib.suppress(BlockingIOError):
            sent += cashier.send(flood[sent : sent + 65536])
        mux.pump(5)  # the device serves the link but reads nothing
    assert len(port.listener.pending) == 1
    assert len(port.listener.pending[0].rx) == 2048  # the device holds exactly its window
    assert sent < len(flood)  # the rest waits in the cashier's TCP: TCP holds it back
    cashier.close()


def test_a_cut_line_is_every_connection_down_and_the_link_comes_back(rig):
    mux, gateway, line, club = rig
    mux.link.dead_ms = gateway.link.dead_ms = 1500
    link = HostClubLink(mux)
    assert link.exchange(b"before", 5000) == b"re:before"
    line.cut = True
    with pytest.raises(LinkDown):
        link.exchange(b"during", 3000)
    mux.wait(lambda: not mux.up, 3000)
    assert not mux.up
    line.cut = False
    assert mux.wait(lambda: mux.up, 5000)
    assert link.exchange(b"after", 5000) == b"re:after"
    assert club.connections == 2 and mux.link.resets == 1


def test_write_to_a_closed_channel_says_which(rig):
    mux, *_ = rig
    stream = mux.connect("club", 5000)
    stream.close()
    with pytest.raises(ChannelClosed) as e:
        stream.write(b"x")
    assert e.value.service == "club" and isinstance(e.value, OSError)
