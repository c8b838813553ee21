"""Benchmark (not a test): durable writes per transaction on the terminal's file storage.

    python bench/bench_durable_writes.py [--sales 64] [--compact-bytes N] [--json]

Each flow runs `--sales` times in a row on a fresh, provisioned terminal: the real engine over
FileStorage in a temporary folder (the storage a device has), against the scripted club host of
the portable tests (tests/portable/fakehost.py: the same protocol, in process, so the counts do
not depend on a network) and the bank simulator. Counted are the storage's durability points
(agent/storage.py `fsyncs`: an os.fsync on CPython; on a board's littlefs the flush/close that
commits the file) and `renames` (each atomic replace), from the first sale's start to the last
sale's end, divided by the number of sales; "range" is the least and the most one sale cost.
A warm-up sale before the count makes the flows start as a terminal that has sold before does.

Flows: bank (approved), bank declined at the bank leg (0420 BD), club credit, store credit,
cash, top-up, refund (of a club-credit purchase made in the warm-up), balance inquiry, void of
the last purchase (counted alone, after a cash sale each), end-of-day close. A journal
compaction, when the journal grows past `--compact-bytes` (the engine's default, 8192, unless
given), is counted where it happens; a huge value leaves compaction out.

Also runs on a checkout older than the counters (agent/storage.py without `fsyncs`): then a
storage port in front of FileStorage counts one fsync per append and per atomic write and one
rename per atomic write, which is what FileStorage does.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.storage import BlobStore, FileStorage
from simulator.bank import BankSimulator
from tests.portable.fakehost import Terminal, card


class CountingStorage:
    """For checkouts without FileStorage's own counters: counts what FileStorage does."""

    def __init__(self, inner):
        self.inner = inner
        self.fsyncs = 0
        self.renames = 0

    def read(self, name):
        return self.inner.read(name)

    def write_atomic(self, name, data):
        self.inner.write_atomic(name, data)
        self.fsyncs += 1
        self.renames += 1

    def append(self, name, record):
        self.inner.append(name, record)
        self.fsyncs += 1

    def remove(self, name):
        self.inner.remove(name)

    def names(self):
        return self.inner.names()

    def store(self, name):
        return BlobStore(self, name)


def counted_storage(root):
    storage = FileStorage(root)
    return storage if hasattr(storage, "fsyncs") else CountingStorage(storage)


def sale(kind):
    """(warm-up, one sale) for a flow: functions of the engine."""
    pan = card()

    def bank(eng):
        return eng.purchase_bank(1200000, pan)

    def cash(eng):
        return eng.purchase_cash(200000, pan)

    def club(eng):
        return eng.purchase_club_credit(10000, pan)

    flows = {
        "bank": (cash, bank),
        "bank, declined by the bank": (cash, bank),  # the bank simulator is scripted to decline
        "club credit": (cash, club),
        "store credit": (cash, lambda eng: eng.purchase_store_credit(10000, pan)),
        "cash": (cash, cash),
        "top-up": (cash, lambda eng: eng.top_up(100000, pan)),
        "refund": (club, None),  # the refund names the warm-up's RRN: built in run()
        "balance": (cash, lambda eng: eng.balance(pan)),
        "void": (cash, lambda eng: eng.void_last()),
        "close": (cash, lambda eng: eng.close_day()),
    }
    return flows[kind]


def run(kind, sales, compact_bytes=None):
    root = tempfile.mkdtemp(prefix="vafa-writes-")
    try:
        storage = counted_storage(root)
        script = ["decline"] * sales if kind == "bank, declined by the bank" else []
        config = {} if compact_bytes is None else {"compact_bytes": compact_bytes}
        t = Terminal(storage, bank=BankSimulator(script), **config)
        eng = t.engine
        eng.recover()
        warm, one = sale(kind)
        res = warm(eng)
        assert res["outcome"] == "approved", res
        if kind == "refund":
            rrn = res["rrn"]

            def one(eng):
                return eng.refund(1000, rrn, "60", card())

        per_sale = []
        first = (storage.fsyncs, storage.renames)
        for _ in range(sales):
            if kind == "void":
                assert cash_sale(eng)["outcome"] == "approved"
            before = (storage.fsyncs, storage.renames)
            res = one(eng)
            assert res["outcome"] in OUTCOME.get(kind, ("approved",)), (kind, res)
            per_sale.append((storage.fsyncs - before[0], storage.renames - before[1]))
        if kind == "void":
            fsyncs = sum(f for f, _ in per_sale)
            renames = sum(r for _, r in per_sale)
        else:
            fsyncs = storage.fsyncs - first[0]
            renames = storage.renames - first[1]
        return {
            "flow": kind,
            "sales": sales,
            "fsyncs": fsyncs / sales,
            "renames": renames / sales,
            "fsyncs_range": [min(f for f, _ in per_sale), max(f for f, _ in per_sale)],
            "renames_range": [min(r for _, r in per_sale), max(r for _, r in per_sale)],
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def cash_sale(eng):
    return eng.purchase_cash(200000, card())


# What each sale must end in: a bank decline is reversed (0420 BD); the scripted host counts
# every close's totals since it started, so from the second close on they differ (95, still a
# 0510 that closes the window); every other flow is approved.
OUTCOME = {"bank, declined by the bank": ("reversed",), "close": ("approved", "declined")}
FLOWS = (
    "bank",
    "bank, declined by the bank",
    "club credit",
    "store credit",
    "cash",
    "top-up",
    "refund",
    "balance",
    "void",
    "close",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=64, help="sales of each flow (64)")
    parser.add_argument(
        "--compact-bytes", type=int, help="journal size that compacts (the engine's default)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per flow")
    args = parser.parse_args()
    rows = [run(kind, args.sales, args.compact_bytes) for kind in FLOWS]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    compaction = "default" if args.compact_bytes is None else args.compact_bytes
    print(
        f"durable writes per transaction, mean of {args.sales} in a row (range: one sale),"
        f" compact_bytes {compaction}"
    )
    print(f"{'flow':<28} {'fsyncs':>7} {'range':>7} {'renames':>8} {'range':>7}")
    for r in rows:
        fr = "{}-{}".format(*r["fsyncs_range"])
        rr = "{}-{}".format(*r["renames_range"])
        print(f"{r['flow']:<28} {r['fsyncs']:>7.2f} {fr:>7} {r['renames']:>8.2f} {rr:>7}")


if __name__ == "__main__":
    main()
