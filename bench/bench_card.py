"""Time to read and authenticate a club card: in process, and through pcscd + vpcd + pyscard.

    python bench/bench_card.py [--reads 1000] [--pcsc-reads 200] [--inserts 10]

One read is what the engine's CardReader port does for every sale: ClubCardReader.read()
(connect, SELECT, READ CARD DATA, a fresh challenge, INTERNAL AUTHENTICATE, the CMAC checked)
against the `active` virtual card, which stays in the reader between reads. In process the card
is an object behind agent/card_io/inprocess.py, timed with each AES backend; through PC/SC the
same card is a vpcd client of a real pcscd (started here when none runs, stopped at the end) and
the terminal talks to it with pyscard. "insert to authenticated" adds what a customer waits for
first: from the card's connection to vpcd until read() returned (pcscd polls the slot).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.card_io.clubcard import ClubCardReader
from agent.card_io.inprocess import InProcessReader
from agent.protocol import aes_cryptography, crypto
from simulator.cards import pcscd
from simulator.cards.personas import TEST_IMK, make_card

PAN = "9879110000000014"


def percentile(samples, p):
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed_reads(reader, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        card = reader.read(5000)
        samples.append((time.perf_counter() - start) * 1000)
        assert card is not None and card.pan == PAN
    return samples


def line(label, samples):
    return (
        f"{label:<34} {len(samples):>6} {statistics.median(samples):>9.3f} "
        f"{percentile(samples, 99):>9.3f} {max(samples):>9.3f}"
    )


def in_process(n, backend):
    """Reads with the given default AES backend (the virtual card's own AES uses it too)."""
    if backend == "cryptography":
        aes_cryptography.install()
    else:
        crypto.unregister_backend("cryptography")
    assert crypto.default_backend() == backend
    reader = ClubCardReader(InProcessReader(make_card("active")), TEST_IMK)
    timed_reads(reader, 20)  # warm up
    return timed_reads(reader, n)


def through_pcsc(n, inserts):
    from simulator.cards.slots import PcscSlot

    slot = PcscSlot()
    try:
        slot.insert(make_card("active"))
        reader = ClubCardReader(slot.reader, TEST_IMK)
        timed_reads(reader, 10)
        reads = timed_reads(reader, n)
        reader.release()
        first = []
        for _ in range(inserts):
            slot.remove()
            start = time.perf_counter()
            slot.runner.insert(make_card("active"))
            card = reader.read(5000)
            first.append((time.perf_counter() - start) * 1000)
            assert card is not None
            reader.release()
        return reads, first
    finally:
        slot.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000, help="in-process reads per backend")
    parser.add_argument("--pcsc-reads", type=int, default=200)
    parser.add_argument("--inserts", type=int, default=10)
    args = parser.parse_args()
    # pure first: then the fast backend stays installed for PC/SC, as on a CPython terminal
    rows = [
        line(f"in process, {backend} AES", in_process(args.reads, backend))
        for backend in ("pure", "cryptography")
    ]
    missing = pcscd.missing_parts()
    if missing:
        rows.append(f"through pcscd: skipped, missing {', '.join(missing)} ({pcscd.INSTALL_HINT})")
    else:
        with pcscd.PcscLock(), pcscd.PcscDaemon() as daemon:
            reads, first = through_pcsc(args.pcsc_reads, args.inserts)
            started = "started here" if daemon.started_here else "already running"
        rows.append(line("through pcscd + vpcd + pyscard", reads))
        rows.append(line("  insert to authenticated", first))
        rows.append(f"(pcscd {started})")
    print(f"Python {sys.version.split()[0]}: ClubCardReader.read() of the active card, ms")
    print(f"{'path':<34} {'reads':>6} {'p50':>9} {'p99':>9} {'max':>9}")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
