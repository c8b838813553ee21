"""One two-phase purchase over loopback against the floor of the same two round trips.

    python bench/bench_purchase.py [--samples 1000] [--file-every 4] [--profile 200]

The purchase: the real agent engine (agent.engine.Engine, the `cryptography` AES backend,
MemoryStorage, the bank simulator) doing purchase_club_credit (0100/0110 then 0220/0230)
against the real club server (simulator.club_server.server.ClubServer over a fresh seeded
SQLite file), the server in its own process.

The floor: the same client socket code (agent.links.tcp.TcpClubLink: blocking socket, 2-byte
framing) doing the same two round trips, with the real messages' bytes (captured from a
purchase), against a bare asyncio echo-style server in its own process that answers each frame
with the real response of that message (so request and response sizes are the real ones).

Purchase and floor samples are interleaved in one run (who goes first alternates); the table
gives p50 and p99 of each and the ratios of the p50s and of the p99s. A second engine with
FileStorage (the device-like journal: every record flushed and fsynced) is sampled every
--file-every iterations in the same run, for reference. Then --profile purchases run with
timers in the engine and in the server process, to show where a purchase's time goes.
"""

import argparse
import binascii
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent import flows
from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import (
    Card,
    MemoryStorage,
    RecordingDisplay,
    RecordingPrinter,
    ScriptedKeypad,
    SystemClock,
)
from agent.protocol import aes_cryptography, protect
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import BlobStore, FileStorage
from bench._servers import BENCH_AMOUNT, ServerProcess, Timers, categories, seed_bench_db
from simulator.bank import BankSimulator
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.club_server.server import TEST_BDK

TIMEOUT_MS = 10000


def make_engine(port, storage, number):
    terminal_id, ikid_hex = seed.terminal_identity(number)
    dukpt = TerminalDukpt(BlobStore(storage, "dukpt"))
    if not dukpt.loaded:
        ikid = binascii.unhexlify(ikid_hex)
        dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
    return Engine(
        TcpClubLink("127.0.0.1", port),
        BankSimulator(),
        None,
        ScriptedKeypad(),
        RecordingDisplay(),
        RecordingPrinter(),
        SystemClock(),
        storage,
        {
            "terminal_id": terminal_id,
            "merchant_id": seed.DEMO_MERCHANT,
            "storage_key": bytes(range(16)),
            "timeout_ms": TIMEOUT_MS,
        },
        dukpt=dukpt,
    )


class RecordingLink:
    """Wraps a link for one purchase: keeps (request, response) payloads."""

    def __init__(self, link):
        self.link = link
        self.log = []

    def exchange(self, payload, timeout_ms):
        response = self.link.exchange(payload, timeout_ms)
        self.log.append((bytes(payload), bytes(response)))
        return response

    def receive(self, timeout_ms):
        return self.link.receive(timeout_ms)

    def close(self):
        self.link.close()


def purchase(eng, card):
    t = time.perf_counter()
    res = eng.purchase_club_credit(BENCH_AMOUNT, card)
    elapsed = time.perf_counter() - t
    if res["outcome"] != "approved" or not res["confirmed"]:
        raise RuntimeError(f"purchase not approved and confirmed: {res}")
    return elapsed


def trimmed(eng):
    """Drop what the recording ports kept (screens, receipts), so memory stays flat."""
    eng.display.shown.clear()
    eng.printer.printed.clear()


def capture(eng, card):
    """The four payloads of one real purchase: [(0100, 0110), (0220, 0230)]."""
    link = eng.club.link
    recorder = RecordingLink(link)
    eng.club.link = recorder
    try:
        purchase(eng, card)
    finally:
        eng.club.link = link
    assert [r[0][:4] for r in recorder.log] == [b"0100", b"0220"], recorder.log
    return recorder.log


def floor_once(link, exchanges):
    t = time.perf_counter()
    for request, _ in exchanges:
        link.exchange(request, TIMEOUT_MS)
    return time.perf_counter() - t


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def ms(seconds):
    return seconds * 1000


# -- the breakdown ------------------------------------------------------------------------------


def instrument_engine(eng, timers):
    """Timers around the engine's parts; returns an undo function."""
    undo = []

    def patch(obj, attr, name):
        original = getattr(obj, attr)
        setattr(obj, attr, timers.wrap(name, original))
        undo.append((obj, attr, original))

    patch(eng.club.link, "exchange", "link: send, server, receive")
    patch(protect, "seal", "seal request: codec + AES + CMAC")
    patch(protect, "open_sealed", "open response: codec + CMAC")
    patch(eng.dukpt, "next_keys", "DUKPT next key + state save")
    patch(eng.ledger.journal, "append", "journal appends")
    patch(eng.ledger.journal, "rewrite", "journal compaction")
    patch(eng.stans, "next", "STAN counter save")
    patch(eng.vault, "seal", "card number sealed for the journal")
    if hasattr(flows, "print_receipts"):
        patch(flows, "print_receipts", "receipts: layout, both copies")

    def restore():
        for obj, attr, original in reversed(undo):
            setattr(obj, attr, original)

    return restore


def breakdown(eng, card, club, count):
    """`count` purchases with timers in the engine and in the server process."""
    timers = Timers()
    restore = instrument_engine(eng, timers)
    club.call("profile")
    server_before = club.call("timers")
    cpu_before = club.cpu()
    client_cpu = time.process_time()
    total = 0.0
    try:
        for _ in range(count):
            total += purchase(eng, card)
            trimmed(eng)
    finally:
        restore()
    client_cpu = time.process_time() - client_cpu
    server_cpu = club.cpu() - cpu_before
    zero = [0.0, 0, 0.0]
    server = {
        k: [a - b for a, b in zip(v, server_before.get(k, zero), strict=True)]
        for k, v in club.call("timers").items()
    }
    return {
        "count": count,
        "client": timers.totals,
        "server": server,
        "total": total,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


CLIENT_PARTS = (
    "seal request: codec + AES + CMAC",
    "open response: codec + CMAC",
    "DUKPT next key + state save",
    "journal appends",
    "journal compaction",
    "STAN counter save",
    "card number sealed for the journal",
    "receipts: layout, both copies",
)
LINK = "link: send, server, receive"


def print_breakdown(title, b):
    count = b["count"]
    client, server = b["client"], b["server"]

    def get(timers, name):
        return timers.get(name, [0.0, 0, 0.0])

    def line(label, wall, cpu, depth=0, calls=None):
        text = f"{'  ' * depth}{label}"
        cpu_text = f"{ms(cpu) / count:8.3f}" if cpu is not None else " " * 8
        wall_text = f"{ms(wall) / count:8.3f}" if wall is not None else " " * 8
        tail = f"  {calls / count:4.1f}" if calls is not None else ""
        print(f"  {text:<50}{cpu_text}{wall_text}{tail}")

    print(f"\n{title}: one purchase, mean of {count} (ms; CPU of the thread, wall)")
    print(f"  {'':<50}{'CPU':>8}{'wall':>8}  calls")
    line("purchase, engine call to result", b["total"], None)
    print("  client, this process:")
    wall_in = cpu_in = 0.0
    for name in CLIENT_PARTS:
        wall, calls, cpu = get(client, name)
        wall_in, cpu_in = wall_in + wall, cpu_in + cpu
        line(name, wall, cpu, 1, calls)
    link_wall, link_calls, link_cpu = get(client, LINK)
    rest_wall = b["total"] - link_wall - wall_in
    rest_cpu = b["client_cpu"] - link_cpu - cpu_in
    line("engine logic, display (the rest)", rest_wall, rest_cpu, 1)
    line("all client CPU (process time)", None, b["client_cpu"], 1)
    line("link: 2 round trips, waiting for the server", link_wall, link_cpu, 0, link_calls)
    print("  server, its own process (inside the round trips), CPU by category:")
    for category, cpu, parts in categories(server, count, b["server_cpu"] * 1000 / count):
        line(category, None, cpu * count / 1000, 1)
        for name, part in parts:
            line(name, None, part * count / 1000, 2, get(server, name)[1])
    line("all server CPU (process time)", None, b["server_cpu"], 1)
    line("loopback, wake-ups (round trips - server CPU)", link_wall - b["server_cpu"], None)


# -- main -----------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000, help="purchase + floor pairs")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument(
        "--file-every", type=int, default=4, help="a FileStorage purchase every N pairs (0: none)"
    )
    parser.add_argument("--profile", type=int, default=200, help="purchases with timers")
    args = parser.parse_args()

    aes_cryptography.install()
    with tempfile.TemporaryDirectory(prefix="vafa-bench-") as tmp:
        db = str(Path(tmp) / "club.db")
        (card_number,) = seed_bench_db(db, cards=1)
        card = Card(card_number, None, "051")
        with ServerProcess.start("club", db) as club:
            mem = make_engine(club.port, MemoryStorage(), 1)
            files = make_engine(club.port, FileStorage(str(Path(tmp) / "terminal")), 2)
            for eng in (mem, files):
                eng.recover()
            exchanges = capture(mem, card)
            answers = {req[:4]: rsp for req, rsp in exchanges}
            with ServerProcess.start("echo", answers) as echo:
                floor_link = TcpClubLink("127.0.0.1", echo.port)
                samples = {"purchase": [], "floor": [], "file": []}
                for i in range(args.warmup + args.samples):
                    if i % 2:
                        f = floor_once(floor_link, exchanges)
                        p = purchase(mem, card)
                    else:
                        p = purchase(mem, card)
                        f = floor_once(floor_link, exchanges)
                    trimmed(mem)
                    extra = None
                    if args.file_every and i % args.file_every == 0:
                        extra = purchase(files, card)
                        trimmed(files)
                    if i >= args.warmup:
                        samples["purchase"].append(p)
                        samples["floor"].append(f)
                        if extra is not None:
                            samples["file"].append(extra)
                floor_link.close()
            report = [breakdown(mem, card, club, args.profile)] if args.profile else []
            if args.profile:
                report.append(breakdown(files, card, club, max(args.profile // 4, 1)))
            mem.club.link.close()
            files.club.link.close()
        ledger = ledger_check(db)

    sizes = ", ".join(
        f"{req[:4].decode()} {len(req)} -> {rsp[:4].decode()} {len(rsp)}" for req, rsp in exchanges
    )
    print(
        f"Python {sys.version.split()[0]}, {args.samples} interleaved samples after "
        f"{args.warmup} warm-up; club server and echo server each in their own process"
    )
    print(f"message bytes (payload, + 2 framing): {sizes}")
    print(f"{'two round trips':<44} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'n':>6}")
    rows = [
        ("floor: TcpClubLink <-> asyncio echo", samples["floor"]),
        ("purchase: engine (MemoryStorage) <-> club", samples["purchase"]),
        ("purchase: engine (FileStorage) <-> club", samples["file"]),
    ]
    for label, values in rows:
        if values:
            print(
                f"{label:<44} {ms(pct(values, 50)):8.3f} {ms(pct(values, 99)):8.3f} "
                f"{ms(statistics.fmean(values)):8.3f} {len(values):>6}"
            )
    fl, pu = samples["floor"], samples["purchase"]
    print(
        f"ratio purchase/floor (MemoryStorage): p50 {pct(pu, 50) / pct(fl, 50):.1f}x "
        f"(goal: <= 6x), p99 {pct(pu, 99) / pct(fl, 99):.1f}x"
    )
    print(
        f"purchase p99/p50 (MemoryStorage): {pct(pu, 99) / pct(pu, 50):.1f} (goal: <= 2); "
        f"floor p99/p50: {pct(fl, 99) / pct(fl, 50):.1f}"
    )
    if samples["file"]:
        fi = samples["file"]
        print(
            f"ratio purchase/floor (FileStorage):   p50 {pct(fi, 50) / pct(fl, 50):.1f}x, "
            f"p99 {pct(fi, 99) / pct(fl, 99):.1f}x"
        )
    titles = ["MemoryStorage", "FileStorage (fsync per journal record)"]
    for title, result in zip(titles, report, strict=False):
        print_breakdown(title, result)
    print(f"\n{ledger}")
    return 0 if ledger.ok else 1


if __name__ == "__main__":
    sys.exit(main())
