"""The device's end of the host link under its own interpreter (pytest and MicroPython): the Mux
and the services the terminal plugs in (club link, ECR port, peripheral streams), against the
gateway's end of the link's state machine (agent/hostlink/link.py) driven by a scripted host.
The real gateway (sockets, threads: CPython) is tests/test_gateway.py."""

from agent.hostlink import link as hl
from agent.hostlink.errors import ChannelClosed
from agent.hostlink.mux import Mux
from agent.hostlink.services import HostClubLink, HostEcrPort
from agent.links import LinkDown, LinkTimeout
from agent.ports import ManualClock
from agent.protocol.framing import FrameReader, frame
from tests.portable.support import raises
from tests.portable.test_hostlink_link import counter_rng


class Host:
    """The gateway's end: a Link, and what each service does with a channel. `club` answers
    each frame with b"re:" + it; `deaf` takes nothing (its window stays full); other names
    are refused, `down` as unreachable. step() runs inside the device's reads."""

    def __init__(self, clock):
        self.link = hl.Link(clock.ticks_ms, counter_rng(5), hl.GATEWAY, 8)
        self.readers = {}
        self.out = {}  # channel id -> bytes the device's window has not taken yet

    def step(self):
        for c in list(self.link.incoming):
            if c.service in ("club", "console"):
                self.link.accept(c, 4096)
                self.readers[c.id] = (c, FrameReader())
            elif c.service == "deaf":
                self.link.accept(c, 16)
            else:
                self.link.close(c, hl.UNREACHABLE if c.service == "down" else hl.REFUSED)
        for ch, (c, reader) in list(self.readers.items()):
            if c.service == "club" and not c.closed:
                for payload in reader.feed(self.link.read(c, 4096)):
                    self.out[ch] = self.out.get(ch, b"") + frame(b"re:" + payload)
                if self.out.get(ch):  # as much as the device's window takes
                    self.out[ch] = self.out[ch][self.link.send(c, self.out[ch]) :]
        self.link.poll()


class Wire:
    """The device's serial port: read() runs the host and moves bytes both ways; waiting
    advances the manual clock by the time waited."""

    def __init__(self, clock, host):
        self.clock = clock
        self.host = host
        self.to_host = b""

    def write(self, data):
        self.to_host += data

    def read(self, n, timeout_ms=0):
        self.host.link.receive(self.to_host)
        self.to_host = b""
        self.host.step()
        data = bytes(self.host.link.take_output())
        if not data:
            self.clock.advance(max(timeout_ms, 1))
        return data


def rig():
    clock = ManualClock()
    host = Host(clock)
    mux = Mux(Wire(clock, host), clock, counter_rng(9))
    assert mux.wait(lambda: mux.up and host.link.up, 3000)
    return mux, host, clock


def test_the_club_link_exchanges_frames_and_reconnects_after_an_idle_close():
    mux, host, _ = rig()
    club = HostClubLink(mux)
    assert club.exchange(b"0800", 5000) == b"re:0800"
    assert club.exchange(bytes(range(256)) * 6, 5000) == b"re:" + bytes(range(256)) * 6
    c = host.readers[club.stream.channel.id][0]
    host.link.close(c)  # the club closes the idle connection
    mux.pump(0)
    mux.pump(0)
    assert club.exchange(b"again", 5000) == b"re:again" and club.connects == 2


def test_a_service_the_gateway_cannot_reach_never_left_the_terminal():
    mux, *_ = rig()
    for service, reason in (("nosuch", "refused"), ("down", "unreachable")):
        e = raises(LinkDown, HostClubLink(mux, service).exchange, b"0800", 5000)
        assert e.sent is False and reason in str(e), str(e)


def test_no_answer_is_a_timeout_and_a_dead_link_is_down():
    mux, host, _ = rig()
    club = HostClubLink(mux, "console")  # accepted, never answers
    raises(LinkTimeout, club.exchange, b"0800", 2000)
    host.link.down()  # the gateway restarts its link: a reset for the device too
    e = raises(LinkDown, club.receive, 20000)
    assert e.sent is True
    assert mux.wait(lambda: mux.up, 5000)


def test_the_cashier_arrives_as_a_channel_and_a_new_one_replaces_it():
    mux, host, _ = rig()
    port = HostEcrPort(mux)
    first = host.link.open("ecr", 16384)
    assert port.read(100) == b"" and port.generation == 1
    assert mux.wait(lambda: first.accepted, 1000)
    assert host.link.send(first, b"\x02sale") == 5
    got = b""
    for _ in range(10):
        got += port.read(100)
    assert got == b"\x02sale"
    port.write(b"\x06")
    host.step()
    assert host.link.read(first, 10) == b""  # not yet: the bytes are still on the wire
    mux.pump(0)
    assert host.link.read(first, 10) == b"\x06"
    host.link.open("ecr", 16384)
    for _ in range(5):
        port.read(10)
    assert port.generation == 2 and first.closed


def test_a_write_the_gateway_never_takes_gives_up_and_closes_with_timeout():
    mux, _, _ = rig()
    stream = mux.connect("deaf", 3000)
    e = raises(ChannelClosed, stream.write, bytes(100), 1000)
    assert "timed out" in str(e) and stream.closed
    assert stream.channel.reason == "timeout"


def test_every_channel_fails_at_once_when_the_link_resets():
    mux, host, _ = rig()
    stream = mux.connect("club", 3000)
    host.link.down()
    assert mux.wait(lambda: stream.closed, 5000)
    e = raises(ChannelClosed, stream.read, 10, 0)
    assert e.reason == hl.LINK_DOWN and e.service == "club"
