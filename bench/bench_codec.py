"""Throughput of the club-link codec (agent.protocol.iso8583) against pyiso8583.

    python bench/bench_codec.py [--rounds 15] [--seconds 0.2]

Both codecs encode then decode the same mix of realistic messages (0100, 0110, 0220, 0420,
0800, 0500 with the Vafa field map; pyiso8583 uses simulator.club_server.iso_spec.VAFA_SPEC,
the same map written as a pyiso8583 spec). Rounds alternate between the two codecs in one
process (who goes first alternates); each round times the mix repeated for about --seconds
per codec. Rates are the median and best round; the ratio is taken per round (both codecs
timed back to back) and summarised by its median and range. "b" fields are bytes for ours
and uppercase hex strings for pyiso8583: each codec gets its own natural types.
"""

import argparse
import binascii
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import iso8583  # pyiso8583

from agent.protocol.iso8583 import decode, encode
from simulator.club_server.iso_spec import VAFA_SPEC

KSN = bytes.fromhex("123456789012345600000001")
MAC = bytes.fromhex("0A1B2C3D4E5F6071")
MERCHANT = "VAFA-STORE-0042"
ORIGINAL = "0100" + "000123" + "0705093015" + "0" * 22  # field 90: MTI, STAN, time, ids
# fmt: off
MIX = {
    "0100": {"t": "0100", "3": "004000", "4": "000001200000", "7": "0705093015", "11": "000123",
             "12": "125915", "13": "0705", "22": "051", "25": "00", "42": MERCHANT, "49": "364",
             "53": KSN, "62": bytes(range(48)), "64": MAC},
    "0110": {"t": "0110", "3": "004000", "4": "000001200000", "7": "0705093015", "11": "000123",
             "37": "418609000123", "38": "A1B2C3", "39": "00", "42": MERCHANT,
             "48": b"\x01\x03150\x02\x0412500\x03\x01A", "49": "364", "53": KSN,
             "54": "40D1364C00000012000040F1364C00000000500040P1364C000001085000", "64": MAC},
    "0220": {"t": "0220", "3": "004000", "4": "000001200000", "7": "0705093102", "11": "000124",
             "12": "130002", "13": "0705", "37": "418609000123", "42": MERCHANT,
             "48": b"\x05\x0cBANKREF00991", "49": "364", "53": KSN, "62": bytes(range(32)),
             "90": ORIGINAL, "128": MAC},
    "0420": {"t": "0420", "3": "004000", "4": "000001200000", "7": "0705093300", "11": "000125",
             "12": "130300", "13": "0705", "37": "418609000123", "42": MERCHANT,
             "48": b"\x0b\x02BD", "49": "364", "53": KSN, "62": bytes(range(32)),
             "90": ORIGINAL, "128": MAC},
    "0800": {"t": "0800", "7": "0705093000", "11": "000122", "42": MERCHANT, "53": KSN,
             "62": bytes(range(16)), "70": "001", "128": MAC},
    "0500": {"t": "0500", "7": "0705210000", "11": "000190", "42": MERCHANT, "53": KSN,
             "62": bytes(range(16)), "74": "0000000003", "75": "0000000000", "76": "0000000041",
             "77": "0000000001", "86": "0000000002500000", "87": "0000000000000000",
             "88": "0000000051250000", "89": "0000000000990000", "97": "D0000000047760000",
             "128": MAC},
}
# fmt: on


def as_pyiso(message):
    """The same message in pyiso8583's terms: "b" fields as uppercase hex strings."""
    return {
        k: binascii.hexlify(v).decode().upper() if type(v) is bytes else v
        for k, v in message.items()
    }


def ours(messages):
    for m in messages:
        decode(encode(m))


def pyiso(messages):
    for m in messages:
        iso8583.decode(iso8583.encode(m, VAFA_SPEC)[0], VAFA_SPEC)


def calibrate(fn, messages, seconds):
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn(messages)
        if time.perf_counter() - t >= seconds:
            return n
        n *= 2


def timed(fn, messages, n):
    t = time.perf_counter()
    for _ in range(n):
        fn(messages)
    return len(messages) * n / (time.perf_counter() - t)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=0.2)
    args = parser.parse_args()

    our_msgs = list(MIX.values())
    their_msgs = [as_pyiso(m) for m in our_msgs]
    for m, p in zip(our_msgs, their_msgs, strict=True):  # same bytes, or the race is unfair
        assert encode(m) == bytes(iso8583.encode(dict(p), VAFA_SPEC)[0])

    n_ours = calibrate(ours, our_msgs, args.seconds)
    n_pyiso = calibrate(pyiso, their_msgs, args.seconds)
    rates = {"ours": [], "pyiso8583": []}
    ratios = []
    for i in range(args.rounds):  # alternate who goes first, so drift hits both alike
        if i % 2:
            theirs = timed(pyiso, their_msgs, n_pyiso)
            mine = timed(ours, our_msgs, n_ours)
        else:
            mine = timed(ours, our_msgs, n_ours)
            theirs = timed(pyiso, their_msgs, n_pyiso)
        rates["ours"].append(mine)
        rates["pyiso8583"].append(theirs)
        ratios.append(mine / theirs)

    print(
        f"Python {sys.version.split()[0]}, pyiso8583 {iso8583.__version__}, "
        f"{args.rounds} interleaved rounds, mix of {len(our_msgs)} messages"
    )
    print("bytes per message: " + ", ".join(f"{k} {len(encode(m))}" for k, m in MIX.items()))
    for k, v in rates.items():
        print(
            f"{k:10} encode+decode: median {statistics.median(v):9,.0f} msgs/s, "
            f"best {max(v):9,.0f} msgs/s"
        )
    print(
        f"ratio ours/pyiso8583 (per round): median {statistics.median(ratios):.2f}x, "
        f"lowest {min(ratios):.2f}x, highest {max(ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
