"""The two implementations of docs/ecr.md agree byte for byte: hostbridge's construct
declaration (the cashier side) and agent/ecr's own codec (the terminal side, MicroPython).

Property tests (hypothesis, derandomized): every message both can carry encodes to the same
frame, and each decodes the other's. Seeded fuzzing: on damaged and random input both decoders
raise only their documented errors, and they agree on what is a frame and what it holds; the
two stream scanners find the same events in the same noise.
"""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ecr import errors as agent_errors
from agent.ecr import frame as agent_frame
from agent.ecr import message as agent_message
from agent.ecr.spec import TAGS
from hostbridge import errors as bridge_errors
from hostbridge import link as bridge_link
from hostbridge import protocol as bridge

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
SETTINGS = settings(max_examples=400, derandomize=True, deadline=None)


def value_strategy(kind, low, high):
    if kind == "n":
        return st.integers(0, 10 ** min(high, 18) - 1)
    if kind == "u8":
        return st.integers(0, 255)
    if kind == "d":
        return st.text("0123456789", min_size=low, max_size=high)
    if kind == "an":
        return st.text(PRINTABLE, min_size=low, max_size=min(high, 40))
    text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=low, max_size=60)
    return text.filter(lambda t: low <= len(t.encode()) <= high)


FIELD_VALUES = {spec[0]: value_strategy(*spec[1:]) for spec in TAGS.values()}
fields_strategy = st.lists(st.sampled_from(sorted(FIELD_VALUES)), unique=True, max_size=12).flatmap(
    lambda names: st.fixed_dictionaries({name: FIELD_VALUES[name] for name in names})
)


def agent_encode(seq, msg_type, fields):
    return agent_frame.encode_frame(agent_message.encode_message(seq, msg_type, fields))


def bridge_encode(seq, msg_type, fields):
    return bridge.build_frame(bridge.build_payload(seq, msg_type, fields))


def test_both_sides_declare_the_same_fields_and_commands():
    from agent.ecr.spec import COMMANDS

    assert {tag: spec[0] for tag, spec in TAGS.items()} == {
        tag: name for tag, (name, _) in bridge.FIELDS.items()
    }
    assert {name: code for code, name in COMMANDS.items()} == bridge.COMMANDS


def test_every_command_by_name_encodes_to_the_same_bytes():
    from agent.ecr.spec import COMMANDS, REQUESTS

    for code, name in COMMANDS.items():  # topup (09) included
        fields = {"amount": 200000, "invoice": "T-1", "cashier": "07"}
        fields = {k: v for k, v in fields.items() if k in REQUESTS[name][0] + REQUESTS[name][1]}
        assert agent_encode(7, code, fields) == bridge_encode(7, name, fields), name
        assert agent_encode(7, code | 0x80, {}) == bridge_encode(7, code | bridge.RESPONSE, {})


@SETTINGS
@given(st.integers(0, 255), st.integers(0, 255), fields_strategy)
def test_messages_encode_to_the_same_bytes(seq, msg_type, fields):
    ours = agent_encode(seq, msg_type, fields)
    theirs = bridge_encode(seq, msg_type, fields)
    assert ours == theirs
    expected = {"seq": seq, "type": msg_type, "fields": fields}
    assert agent_message.decode_message(agent_frame.decode_frame(theirs)) == expected
    assert bridge.parse_payload(bridge.parse_frame(ours)) == expected


@SETTINGS
@given(st.binary(min_size=2, max_size=4096))
def test_any_payload_frames_identically(payload):
    frame = agent_frame.encode_frame(payload)
    assert frame == bridge.build_frame(payload)
    assert bridge.parse_frame(frame) == payload == agent_frame.decode_frame(frame)


def test_oversized_payloads_refused_by_both():
    for size in (0, 1, 4097):
        try:
            agent_frame.encode_frame(bytes(size))
        except agent_errors.FrameError:
            pass
        else:
            raise AssertionError(size)
        try:
            bridge.build_frame(bytes(size))
        except bridge_errors.FrameError:
            pass
        else:
            raise AssertionError(size)


def test_acks_are_the_same_bytes():
    for seq in range(256):
        assert agent_frame.ack(seq) == bridge.build_ack(seq)


# -- fuzzing (seeded) ---------------------------------------------------------------------------


def outcome(fn, data, errors):
    try:
        return ("ok", fn(data))
    except errors as e:
        return ("error", type(e).__name__)


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(5)
        if how == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif how == 1 and data:
            del data[rng.randrange(len(data)) :]
        elif how == 2:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif how == 3 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data += rng.randbytes(rng.randrange(8))
    return bytes(data)


def corpus(rng, n):
    """Valid frames of real-looking messages, and random bytes."""
    samples = [
        (1, 0x01, {"amount": 120000, "invoice": "INV-1001", "cashier": "07"}),
        (2, 0x05, {"invoice": "INV-1001"}),
        (3, 0x81, {"result": "00", "payable": 1025000, "card": "****0014", "stan": "000001",
                   "message": "تایید شد", "receipt": "line\n" * 20, "command": 1}),
        (4, 0x88, {"result": "10"}),
    ]  # fmt: skip
    for _ in range(n):
        if rng.random() < 0.8:
            seq, msg_type, fields = rng.choice(samples)
            yield mutate(rng, agent_encode(seq, msg_type, fields))
        else:
            yield rng.randbytes(rng.randrange(64))


def test_fuzz_frame_decoders_agree_and_raise_only_their_errors():
    rng = random.Random(6)
    for data in corpus(rng, 20000):
        ours = outcome(agent_frame.decode_frame, data, agent_errors.FrameError)
        theirs = outcome(bridge.parse_frame, data, bridge_errors.FrameError)
        assert ours[0] == theirs[0], data.hex()
        if ours[0] == "ok":
            assert ours[1] == theirs[1]


def test_fuzz_message_decoders_agree_and_raise_only_their_errors():
    rng = random.Random(7)
    payloads = [data[3:-3] if len(data) > 6 else data for data in corpus(rng, 20000)]
    for payload in payloads:
        ours = outcome(agent_message.decode_message, payload, agent_errors.MessageError)
        theirs = outcome(bridge.parse_payload, payload, bridge_errors.MessageError)
        assert ours[0] == theirs[0], payload.hex()
        if ours[0] == "ok":
            assert ours[1] == theirs[1], payload.hex()


def test_fuzz_stream_scanners_find_the_same_events():
    rng = random.Random(8)
    for _ in range(300):
        stream = b"".join(
            rng.choice((b"\x15", agent_frame.ack(rng.randrange(256)), b"\x02", b"\x06"))
            if rng.random() < 0.3
            else next(corpus(rng, 1))
            for _ in range(rng.randint(1, 8))
        )
        cuts = sorted(rng.sample(range(len(stream) + 1), min(3, len(stream) + 1)))
        scanner, hunter = agent_frame.Scanner(500), bridge_link.Hunter(0.5)
        ours, theirs = [], []
        last = 0
        for cut in [*cuts, len(stream)]:
            ours += scanner.feed(stream[last:cut], 0)
            theirs += hunter.feed(stream[last:cut], 0.0)
            last = cut
        ours += scanner.expire(10_000)
        theirs += hunter.expire(10.0)
        assert simplify(ours) == simplify(theirs), stream.hex()
        assert scanner.noise == hunter.noise


def simplify(events):
    return [(kind, None if kind == "bad" else value) for kind, value in events]
