"""`vafa emulator --load N [--seconds S]`: N emulated terminals against one club server.

Each terminal is the real engine (EmulatedTerminal) with its own identity: terminal numbers
from seed.LOAD_TERMINALS_FIRST (1001), registered with seed.add_load_terminals when the club
is the local demo club (an outside club needs `vafa club-server add-terminals`). Each powers up
(recovers, signs on; a terminal whose sign-on fails sells nothing), then runs in its own
thread, back to back for S seconds, a cash purchase with one of the seeded members' cards
(turn by turn), then drains its queue. The report: transactions, throughput, p50 and p99 of
the sale's time at the terminal, errors (each with what the club link saw, and the most common
one named), and the club's ledger check (local club only). While it runs, a line each second
says how far it is: seconds, sales so far, errors so far, terminals still running.
"""

import threading
import time
from collections import Counter

from simulator.club_server import seed
from simulator.pos_emulator.terminal import EmulatedTerminal, terminal_folder

CARDS = ("active", "member-b", "new-member", "prepaid")
AMOUNT = 100_000
PROGRESS_S = 1.0  # a running count this often while the load runs


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class LoadTerminal(threading.Thread):
    def __init__(self, root, host, port, number, index, deadline):
        super().__init__(name=f"load-{number}", daemon=True)
        self.terminal = EmulatedTerminal(root, port, host, CARDS[index % len(CARDS)], number)
        self.index = index
        self.deadline = deadline
        self.latencies = []
        self.errors = []  # (kind: the same words for alike errors of any terminal, detail)

    def run(self):
        engine = self.terminal.engine
        try:
            self.terminal.power_up()
            signed_on = self.terminal.signed_on
            if signed_on["outcome"] != "approved":
                self.error("sign-on: " + signed_on["reason"], "sign-on: " + signed_on["message"])
                return
            turn = self.index
            while time.monotonic() < self.deadline:
                self.terminal.reader.persona = CARDS[turn % len(CARDS)]
                turn += 1
                self.terminal.link.forget()
                start = time.perf_counter()
                res = engine.purchase_cash(AMOUNT)
                self.latencies.append((time.perf_counter() - start) * 1000)
                if res["outcome"] != "approved":
                    why = self.terminal.explain(res)
                    self.error(
                        f"sale {res['outcome']} ({res['response_code'] or 'no code'}): "
                        f"{res['message']}" + (f": {why}" if why else "")
                    )
                self.terminal.screens.take()
                self.terminal.receipts()
            engine.saf.drain(force=True)
            if engine.pending():
                self.error("confirmations still queued", f"{engine.pending()} confirmation(s) "
                           "still queued")  # fmt: skip
        except Exception as e:
            self.error(f"{type(e).__name__}: {e}")
        finally:
            self.terminal.close()

    def error(self, kind, detail=None):
        self.errors.append((kind, detail or kind))


def run_load(count, seconds, data_dir, host, port, db_path=None, out=print):
    """Run the load; (exit status, report dict). db_path: the local club's database, for
    registering the terminals and the ledger check (None for a remote club)."""
    if db_path is not None:
        seed.add_load_terminals(str(db_path), count)
    first = seed.LOAD_TERMINALS_FIRST
    deadline = time.monotonic() + seconds
    terminals = [
        LoadTerminal(terminal_folder(data_dir, first + i), host, port, first + i, i, deadline)
        for i in range(count)
    ]
    started = time.perf_counter()
    for t in terminals:
        t.start()
    _wait_with_progress(terminals, seconds, out)
    elapsed = time.perf_counter() - started
    latencies = [x for t in terminals for x in t.latencies]
    errors = [f"{t.terminal.terminal_id}: {detail}" for t in terminals for _, detail in t.errors]
    kinds = Counter(kind for t in terminals for kind, _ in t.errors)
    report = {
        "terminals": count,
        "seconds": round(elapsed, 2),
        "transactions": len(latencies),
        "throughput_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": len(errors),
        "dominant_error": None,
        "ledger_ok": None,
    }
    if kinds:
        text, times = kinds.most_common(1)[0]
        report["dominant_error"] = {"error": text, "count": times}
    ledger = None
    if db_path is not None:
        from simulator.club_server.ledger import ledger_check

        ledger = ledger_check(str(db_path))
        report["ledger_ok"] = ledger.ok
    out(
        f"load: {count} terminal(s), {report['transactions']} cash purchases in "
        f"{report['seconds']} s: {report['throughput_per_s']}/s, p50 {report['p50_ms']} ms, "
        f"p99 {report['p99_ms']} ms, errors {report['errors']}"
    )
    if kinds:
        text, times = kinds.most_common(1)[0]
        out(f"  most common error ({times} of {len(errors)}): {text}")
    for e in errors[:10]:
        out("  error: " + e)
    if ledger is not None:
        out(str(ledger))
    else:
        out("ledger check: skipped (remote club; run it on the club's database)")
    ok = not errors and report["transactions"] > 0 and report["ledger_ok"] is not False
    return (0 if ok else 1), report


def _wait_with_progress(terminals, seconds, out, every=PROGRESS_S):
    """Join the terminals, saying each `every` seconds how far the load is."""
    start = time.monotonic()
    next_line = start + every
    for t in terminals:
        while t.is_alive():
            t.join(max(0.0, next_line - time.monotonic()))
            now = time.monotonic()
            if now >= next_line:
                running = sum(x.is_alive() for x in terminals)
                sales = sum(len(x.latencies) for x in terminals)
                errors = sum(len(x.errors) for x in terminals)
                phase = "" if now - start < seconds else ", draining queues"
                out(f"load: {now - start:.0f} s of {seconds:g}: {sales} sales, {errors} errors, "
                    f"{running} of {len(terminals)} terminals running{phase}")  # fmt: skip
                next_line = now + every


def run_load_mode(args, world):
    db = world.club.server.db_path if world.club is not None else None
    host, port = world.address
    status, _ = run_load(args.load, args.seconds, args.data_dir, host, port, db, world.out)
    return status
