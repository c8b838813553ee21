"""The host link's state machine (docs/hostlink.md sections 3-5): two Links, a device's and a
gateway's, joined by an in-memory wire that can lose, garble and cut; the worked exchange of
section 7 as a transcript. Runs under pytest and MicroPython (the clock is a ManualClock)."""

from agent.hostlink import frame as f
from agent.hostlink.errors import ChannelClosed, HostLinkError
from agent.hostlink.link import DEVICE, GATEWAY, LINK_DOWN, OVERFLOW, Link
from agent.ports import ManualClock
from tests.portable.support import hexu, raises, unhex
from tests.portable.test_hostlink_frame import WORKED


def counter_rng(seed):
    state = [seed]

    def rng(n):
        out = bytearray()
        for _ in range(n):
            state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
            out.append(state[0] >> 16 & 0xFF)
        return bytes(out)

    return rng


def fixed(*nonces):
    left = list(nonces)
    return lambda n: unhex(left.pop(0))


class Wire:
    """Both ends on one clock; step() moves what each wrote to the other, through `fault`
    (a function of the bytes, per direction) unless the line is cut."""

    def __init__(self, dev_rng=None, gw_rng=None, **timers):
        self.clock = ManualClock()
        self.dev = Link(self.clock.ticks_ms, dev_rng or counter_rng(1), DEVICE, **timers)
        self.gw = Link(self.clock.ticks_ms, gw_rng or counter_rng(2), GATEWAY, 8, **timers)
        self.cut = False
        self.fault = None

    def carry(self, data):
        if self.cut:
            return b""
        return self.fault(data) if self.fault is not None and data else data

    def step(self, ms=10):
        self.dev.poll()
        self.gw.poll()
        to_gw = self.carry(self.dev.take_output())
        to_dev = self.carry(self.gw.take_output())
        self.gw.receive(to_gw)
        self.dev.receive(to_dev)
        self.clock.advance(ms)

    def run(self, ms, step=10):
        for _ in range(ms // step):
            self.step(step)

    def until(self, ready, ms=30000, step=10):
        for _ in range(ms // step):
            if ready():
                return True
            self.step(step)
        return ready()


def up_wire(**kw):
    wire = Wire(**kw)
    assert wire.until(lambda: wire.dev.up and wire.gw.up, 100)
    return wire


def channel_pair(wire, service="club", dev_window=1024, gw_window=8192):
    c = wire.dev.open(service, dev_window)
    assert wire.until(lambda: wire.gw.incoming, 100)
    g = wire.gw.incoming[0]
    assert g.service == service and g.id == c.id
    assert wire.gw.accept(g, gw_window)
    assert wire.until(lambda: c.accepted, 100)
    return c, g


def pipe(wire, src_link, src, dst_link, dst, data, ms=60000):
    """Send data over src and read it all at dst, stepping the wire; the bytes read."""
    got = bytearray()
    sent = 0
    for _ in range(ms // 10):
        if sent < len(data):
            sent += src_link.send(src, data[sent:])
        got += dst_link.read(dst, 300)
        if len(got) == len(data):
            break
        wire.step()
    return bytes(got)


def lines(link):
    """The frames one end wrote, as line hex."""
    out = link.take_output()
    return [hexu(f.FLAG + run + f.FLAG) for run in out.split(f.FLAG) if run]


def test_worked_exchange_is_what_two_links_say():
    clock = ManualClock()
    dev = Link(clock.ticks_ms, fixed("1A2B3C4D"), DEVICE)
    gw = Link(clock.ticks_ms, fixed("00C0FFEE"), GATEWAY, 8)
    said = []

    def move(a, b):
        frames = lines(a)
        said.extend(frames)
        for line in frames:
            b.receive(unhex(line))

    dev.poll()
    move(dev, gw)  # 1 SYNC
    move(gw, dev)  # 2 SYNC_OK
    c = dev.open("club", 1024)
    move(dev, gw)  # 3 OPEN
    g = gw.incoming[0]
    gw.accept(g, 8192)
    move(gw, dev)  # 4 ACCEPT
    assert dev.send(c, b"\x00\x06hello~") == 8
    move(dev, gw)  # 5 DATA
    assert gw.read(g, 100) == b"\x00\x06hello~"  # passed on to the club: the credit goes back
    move(gw, dev)  # 6 CREDIT
    assert gw.send(g, b"\x00\x03hi}") == 5
    move(gw, dev)  # 7 DATA
    assert dev.read(c, 100) == b"\x00\x03hi}"
    move(dev, gw)  # 8 CREDIT
    dev.close(c)
    move(dev, gw)  # 9 CLOSE
    move(gw, dev)  # 10 CLOSE (the answer)
    move(dev, gw)  # 11 ACK
    assert said == [row[6] for row in WORKED]
    assert c.reason == "closed" and g.reason == "closed"
    assert not dev.channels and not gw.channels


def test_handshake_and_a_stream_each_way():
    wire = up_wire()
    c, g = channel_pair(wire)
    assert pipe(wire, wire.dev, c, wire.gw, g, bytes(range(256)) * 20) == bytes(range(256)) * 20
    assert pipe(wire, wire.gw, g, wire.dev, c, b"answer" * 900) == b"answer" * 900
    assert wire.dev.retransmits == 0 and wire.dev.decoder.garbage == 0


def test_loss_and_garbage_cost_retransmissions_not_bytes():
    state = [7]

    def fault(data):  # about 1 chunk in 5 lost, 1 in 5 with a flipped bit, noise in between
        state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
        roll = state[0] % 10
        if roll < 2:
            return b""
        if roll < 4:
            damaged = bytearray(data)
            damaged[state[0] % len(damaged)] ^= 1 << (state[0] % 8)
            return bytes(damaged)
        return b"line noise " + data

    wire = up_wire()
    c, g = channel_pair(wire)
    wire.fault = fault
    data = bytes(range(251)) * 12
    assert pipe(wire, wire.dev, c, wire.gw, g, data, 300000) == data
    assert pipe(wire, wire.gw, g, wire.dev, c, data, 300000) == data
    assert wire.dev.retransmits and wire.gw.retransmits
    assert wire.dev.decoder.garbage and wire.gw.decoder.garbage
    assert wire.dev.up and wire.gw.up and wire.dev.resets == 0


def test_a_lost_ack_makes_a_repeat_that_is_dropped():
    wire = up_wire()
    c, g = channel_pair(wire)
    wire.dev.send(c, b"once")
    wire.dev.poll()
    wire.gw.receive(wire.dev.take_output())
    wire.gw.take_output()  # the ACK is lost
    wire.clock.advance(1000)
    wire.step()  # RTO: the DATA again
    wire.run(50)
    assert wire.gw.read(g, 100) == b"once" and wire.dev.retransmits == 1
    assert not wire.dev.unacked


def test_credit_holds_a_sender_that_the_reader_does_not_keep_up_with():
    wire = up_wire()
    c, g = channel_pair(wire, dev_window=1000)
    taken = wire.gw.send(g, bytes(5000))
    wire.run(100)
    assert taken == 1000 and g.credit == 0 and len(c.rx) == 1000
    assert wire.gw.send(g, b"more") == 0
    assert len(wire.dev.read(c, 400)) == 400  # below half the window: no credit yet
    wire.run(100)
    assert g.credit == 0
    wire.dev.read(c, 100)
    wire.run(100)
    assert g.credit == 500


def test_data_beyond_the_window_closes_the_channel():
    wire = up_wire()
    c, g = channel_pair(wire, dev_window=16)
    g.credit = 100  # a gateway that does not keep the rules
    wire.gw.send(g, bytes(40))
    wire.run(100)
    assert c.reason == "overflow" and g.reason == "overflow"
    assert not wire.dev.channels and not wire.gw.channels
    assert OVERFLOW == 4


def test_refused_open_and_the_id_is_free_again():
    wire = up_wire()
    c = wire.dev.open("nosuch", 512)
    wire.run(50)
    wire.gw.close(wire.gw.incoming[0], 1)
    wire.run(50)
    assert c.reason == "refused" and not c.accepted
    assert not wire.dev.channels and not wire.gw.channels
    assert wire.dev.open("club", 512).id == c.id
    raises(ChannelClosed, wire.dev.send, c, b"x")


def test_both_ends_close_at_once():
    wire = up_wire()
    c, g = channel_pair(wire)
    wire.dev.close(c)
    wire.gw.close(g)
    wire.run(50)
    assert not wire.dev.channels and not wire.gw.channels


def test_a_cut_line_is_every_connection_down_then_a_new_link():
    wire = up_wire(dead_ms=3000)
    c, g = channel_pair(wire)
    wire.gw.send(g, b"kept")
    wire.run(50)
    wire.cut = True
    wire.dev.send(c, b"lost")
    wire.run(3100)
    assert not wire.dev.up and not wire.gw.up
    assert c.reason == LINK_DOWN and g.reason == LINK_DOWN
    assert wire.dev.read(c, 10) == b"kept"  # what arrived stays readable
    raises(ChannelClosed, wire.dev.send, c, b"x")
    raises(HostLinkError, wire.dev.open, "club", 512)
    wire.cut = False
    assert wire.until(lambda: wire.dev.up and wire.gw.up, 3000)
    assert wire.dev.resets == 1 and wire.gw.resets == 1
    c2, g2 = channel_pair(wire)
    assert pipe(wire, wire.dev, c2, wire.gw, g2, b"again") == b"again"
    assert wire.gw.read(g, 10) == b""  # nothing of the old link came through


def test_a_device_restart_resets_the_gateway():
    wire = up_wire()
    _, g = channel_pair(wire)
    wire.dev = Link(wire.clock.ticks_ms, counter_rng(99), DEVICE)  # power cut, boot
    assert wire.until(lambda: wire.dev.up and g.reason == LINK_DOWN, 3000)
    assert wire.gw.up and wire.gw.resets == 1 and not wire.gw.channels


def test_a_lost_sync_ok_is_answered_again_without_a_reset():
    wire = Wire()
    wire.dev.poll()
    wire.gw.receive(wire.dev.take_output())
    wire.gw.take_output()  # the SYNC_OK is lost
    assert wire.gw.up and not wire.dev.up
    wire.clock.advance(1000)
    assert wire.until(lambda: wire.dev.up, 100)
    assert wire.gw.resets == 0 and wire.dev.peer == wire.gw.nonce


def test_both_ends_sync_at_once():
    wire = Wire()
    wire.step()  # both SYNCs cross on the line
    wire.run(100)
    assert wire.dev.up and wire.gw.up and wire.dev.resets == 0 and wire.gw.resets == 0
    c, g = channel_pair(wire)
    assert pipe(wire, wire.dev, c, wire.gw, g, b"x" * 3000) == b"x" * 3000


def test_keepalives_keep_an_idle_link_up():
    wire = up_wire()
    wire.run(30000, 100)
    assert wire.dev.up and wire.gw.up and wire.dev.resets == 0


def test_the_gateway_may_open_channels_too():
    wire = up_wire()
    g = wire.gw.open("ecr", 16384)
    wire.run(50)
    c = wire.dev.incoming[0]
    assert c.id == 128 and c.service == "ecr"
    wire.dev.accept(c, 2048)
    assert wire.until(lambda: g.accepted, 100)
    assert pipe(wire, wire.gw, g, wire.dev, c, b"\x02\x00\x03sale") == b"\x02\x00\x03sale"
