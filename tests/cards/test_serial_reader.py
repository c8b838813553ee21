"""Serial stripe readers over a real pty pair (socat) with pyserial on both ends, and the line
assembly on its own (agent/card_io/serial_reader.py)."""

import random
import threading
import time

import pytest

from agent.card_io.errors import CardError, TrackError
from agent.card_io.serial_reader import LineAssembler, SerialStripeReader
from agent.card_io.track import StripeCard
from agent.ports import ManualClock

BANK = "6037990000000014"
CLUB = "9879110000000014"
T1 = "%B6037990000000014^AHMADI/ALI^2912101000000?"
T2 = ";6037990000000014=29121010000000000?"
T2_CLUB = ";9879110000000014=2912101?"


@pytest.fixture
def reader(pty_pair):
    with SerialStripeReader(pty_pair[0], 9600) as r:
        yield r


def send(device, data):
    device.write(data)
    device.flush()


# -- over the pty pair ------------------------------------------------------------------------


def test_one_swipe_per_line(reader, stripe_device):
    send(stripe_device, (T1 + T2 + "\r\n").encode())
    card = reader.read(3000)
    assert isinstance(card, StripeCard)
    assert (card.pan, card.expiry, card.entry, card.name, card.tracks) == (
        BANK,
        "2912",
        "021",
        "AHMADI/ALI",
        (1, 2),
    )


def test_nothing_in_time_is_none(reader):
    start = time.monotonic()
    assert reader.read(200) is None
    assert 0.15 < time.monotonic() - start < 1.5


def test_garbage_then_the_next_swipe_reads(reader, stripe_device):
    send(stripe_device, b"\xff\xfe\x00noise\r\n" + (T2_CLUB + "\n").encode())
    with pytest.raises(TrackError) as caught:
        reader.read(3000)
    assert str(caught.value) == (
        "byte 0xFF is not printable ASCII: line noise or a wrong baud rate? (offset 0)"
    )
    assert reader.read(3000).pan == CLUB


def test_a_garbled_swipe_is_a_clear_error(reader, stripe_device):
    send(stripe_device, b";6037990000000015=2912101?\r\n")
    with pytest.raises(TrackError, match=r"check digit is wrong \(Luhn\) \(track 2, offset 16\)"):
        reader.read(3000)
    send(stripe_device, (T2 + "\r\n").encode())
    assert reader.read(3000).pan == BANK


def test_line_without_line_end_arrives_after_the_quiet_time(reader, stripe_device):
    send(stripe_device, T2_CLUB.encode())
    start = time.monotonic()
    assert reader.read(3000).pan == CLUB
    assert time.monotonic() - start >= 0.25  # the 300 ms quiet time


def test_noise_without_line_end_does_not_stick_to_the_next_swipe(reader, stripe_device):
    send(stripe_device, b"\x80\x81")
    with pytest.raises(TrackError, match="byte 0x80"):
        reader.read(3000)
    send(stripe_device, (T2_CLUB + "\r\n").encode())
    assert reader.read(3000).pan == CLUB


def test_each_track_on_its_own_line_is_one_swipe(reader, stripe_device):
    send(stripe_device, (T1 + "\r\n" + T2 + "\r\n").encode())
    card = reader.read(3000)
    assert card.tracks == (1, 2)
    assert reader.read(300) is None  # not read twice


def test_bytes_in_small_pieces(reader, stripe_device):
    data = (T1 + T2 + "\r\n").encode()

    def trickle():
        for i in range(0, len(data), 7):
            send(stripe_device, data[i : i + 7])
            time.sleep(0.01)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        assert reader.read(3000).tracks == (1, 2)
    finally:
        thread.join()


def test_endless_noise_line_is_cut_and_reading_goes_on(reader, stripe_device):
    send(stripe_device, b"7" * 2000 + b"\r\n" + (T2_CLUB + "\r\n").encode())
    with pytest.raises(TrackError, match="no line end after 512 bytes"):
        reader.read(3000)
    assert reader.read(3000).pan == CLUB


def test_all_byte_values(reader, stripe_device):
    send(stripe_device, bytes(b for b in range(256) if b not in (10, 13)) + b"\n")
    with pytest.raises(TrackError):
        reader.read(3000)
    send(stripe_device, (T2 + "\n").encode())
    assert reader.read(3000).pan == BANK


def test_noise_fuzz_over_the_line(reader, stripe_device):
    """Garbage lines between good swipes: every good swipe is read, every garbage line is a
    CardError (TrackError), nothing else escapes, and nothing is lost or read twice."""
    rng = random.Random(7813)
    plan = []
    for _ in range(60):
        if rng.random() < 0.5:
            plan.append(("card", (T2 if rng.random() < 0.5 else T2_CLUB).encode()))
        else:
            noise = bytes(rng.choice(range(256)) for _ in range(rng.randint(1, 60)))
            noise = noise.replace(b"\r", b"").replace(b"\n", b"") or b"\xff"
            plan.append(("noise", noise))
    send(stripe_device, b"".join(data + b"\r\n" for _, data in plan))
    got = []
    while len(got) < len(plan):
        try:
            card = reader.read(2000)
        except CardError as e:
            assert isinstance(e, TrackError)
            got.append("noise")
            continue
        assert card is not None, f"stalled after {len(got)} of {len(plan)}"
        got.append("card")
    # a noise line may by chance be a valid swipe; here none is
    assert got == [kind for kind, _ in plan]
    assert reader.read(300) is None


def test_cards_generator_with_on_error(reader, stripe_device):
    send(stripe_device, (T2 + "\r\n\xff\r\n" + T2_CLUB + "\r\n").encode("latin-1"))
    errors = []
    cards = list(reader.cards(timeout_ms=500, on_error=errors.append))
    assert [c.pan for c in cards] == [BANK, CLUB]
    assert len(errors) == 1 and "0xFF" in str(errors[0])


# -- the line assembly, with made-up times ----------------------------------------------------


def run(parts, assembler=None):
    """Feed (bytes, t_ms) parts; then poll far in the future. Items as text or error text."""
    a = assembler or LineAssembler()
    out = []
    for data, t in parts:
        out += a.push(data, t)
    out += a.poll(10**6)
    return [str(x) if isinstance(x, TrackError) else x.decode("latin-1") for x in out]


def test_line_ends():
    assert run([(b"a\r\nb\nc\rd\r\n\r\n\n", 0)]) == ["a", "b", "c", "d"]


def test_track_lines_join_within_join_ms():
    t1, t2 = T1.encode(), T2.encode()
    assert run([(t1 + b"\r\n", 0), (t2 + b"\r\n", 30)]) == [T1 + T2]
    assert run([(t1 + b"\r\n", 0), (t2 + b"\r\n", 80)]) == [T1, T2]
    # a line that does not end a track is never held (noise never joins a good swipe)
    assert run([(b"xx\r\n" + t2 + b"\r\n", 0)]) == ["xx", T2]


def test_idle_line_and_deadline():
    a = LineAssembler(idle_ms=300, join_ms=50)
    assert a.deadline() is None and not a.pending()
    assert a.push(T2_CLUB.encode(), 1000) == []
    assert a.deadline() == 1300 and a.pending()
    assert a.poll(1299) == []
    assert a.poll(1300) == [T2_CLUB.encode()]
    assert a.deadline() is None


def test_over_long_line():
    a = LineAssembler(max_line=10)
    got = run([(b"0123456789ABCDEF", 0), (b"GHI\r\nok\r\n", 5)], a)
    assert got == [
        "no line end after 10 bytes: line noise or a wrong baud rate? (the rest of the line is"
        " dropped)",
        "ok",
    ]


def test_reader_with_a_fake_port_and_manual_clock():
    """The reader over any object with read(n) / in_waiting / timeout: here a scripted one
    whose reads advance a manual clock (no pty needed)."""
    clock = ManualClock()

    class Port:
        def __init__(self, chunks):
            self.chunks = list(chunks)
            self.timeout = None
            self.in_waiting = 0

        def read(self, n):
            clock.advance(int((self.timeout or 0) * 1000) if not self.chunks else 5)
            return self.chunks.pop(0) if self.chunks else b""

        def close(self):
            pass

    r = SerialStripeReader(serial=Port([T2.encode() + b"\r\n", b"\xff\r\n"]), clock=clock)
    assert r.read(1000).pan == BANK
    with pytest.raises(TrackError):
        r.read(1000)
    assert r.read(1000) is None
