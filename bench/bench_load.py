"""The club server's throughput with 1,000 connected terminals against a bare echo ceiling.

    python bench/bench_load.py [--terminals 1000] [--seconds 10] [--rounds 2] [--warmup 3]
                               [--procs 2] [--no-breakdown]

1,000 emulated terminals (load-test terminals VT001001..., seed.add_load_terminals, each with
its own DUKPT initial key and its own bench card with club credit) hold one connection each and
do two-phase club-credit purchases (0100/0110, then 0220/0230) in a closed loop: a terminal
sends its next message when the previous answer is in. Every request is built and sealed
(field 62 AES-CBC, CMAC, a fresh KSN) with the agent's codec and protection (agent.protocol),
every answer decoded and its MAC verified. The load generator is asyncio in --procs worker
processes (the terminals split between them); each server is in its own process.

Three kinds of run, each on fresh connections, --rounds times in alternating order (club, echo,
bare; then bare, echo, club; ...) so that the machine's drift hits all alike:
- club: the real club server (simulator.club_server.server.ClubServer, defaults) over a fresh
  seeded SQLite file. The terminals' KSN counters and STANs carry over from run to run. After
  the last run the ledger check runs on that file (it must pass);
- echo: the same generator, same work per message, against a bare asyncio echo-style server
  (bench/_servers.py) that answers each 0100 with a real 0110 and each 0220 with a real 0230
  captured from the club server (so the sizes are the real ones); the generator verifies those
  answers under the captured keys: the same crypto and codec work as against the club;
- bare: the generator without codec and crypto (the captured request bytes sent as they are,
  answers not parsed) against the same echo server: the ceiling of the transport alone.

After the rounds, one more club run with timers around the server's steps and
its SQL statements (bench/_servers.py instrument) breaks its CPU per message down by
category: SQLite, protocol (pyiso8583, DUKPT, MAC, field 62, content hash, format check,
sealing), business rules in Python, and the rest (asyncio, sockets, framing). The measured
rounds are never timed. The group commit's batches (requests per COMMIT) are printed too.

Throughput is the messages completed inside the measuring windows (each after --warmup seconds)
per second; latency is from writing a request to its answer being read. CPU is per process
over the windows (100 % = one core); the server's context switches tell why it was off the CPU.
"""

import argparse
import asyncio
import datetime as dt
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.protocol import aes_cryptography, dukpt, framing, protect
from agent.protocol.messages import (
    RESPONSE_MTI,
    SECRET_CARD_NUMBER,
    SECRET_TERMINAL_ID,
)
from bench._servers import BENCH_AMOUNT, ServerProcess, categories, seed_bench_db
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.club_server.server import TEST_BDK

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
EXCHANGE_TIMEOUT = 60.0  # seconds; an answer later than this counts as an error
PROC_CLUB_CREDIT = "006000"

CLUB, ECHO, BARE = "club", "echo", "bare"


class Times:
    """Fields 7, 12 and 13, recomputed once per second (as a terminal's clock would tick)."""

    def __init__(self):
        self._second = None
        self._value = None

    def now(self):
        second = int(time.time())
        if second != self._second:
            utc = dt.datetime.fromtimestamp(second, dt.UTC)
            local = utc.astimezone(TEHRAN)
            self._value = (
                utc.strftime("%m%d%H%M%S"),
                local.strftime("%H%M%S"),
                local.strftime("%m%d"),
            )
            self._second = second
        return self._value


class Failure(Exception):
    pass


class LoadTerminal:
    """One emulated terminal: its DUKPT counter, STANs, card and connection."""

    def __init__(self, number, card, mode, canned, times, state=(1, 0)):
        self.number = number
        self.terminal_id, ikid_hex = seed.terminal_identity(number)
        self.ikid = bytes.fromhex(ikid_hex)
        self.initial_key = dukpt.derive_initial_key(TEST_BDK, self.ikid)
        self.counter, self.stan = state  # carried over from the terminal's previous run
        self.card = card
        self.mode = mode
        self.canned = canned  # echo modes: {"0100": (request, response, keys), "0220": ...}
        self.times = times
        self.merchant = seed.DEMO_MERCHANT.ljust(15)
        self.reader = self.writer = None

    async def connect(self, port):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)

    def close(self):
        if self.writer is not None:
            self.writer.close()

    def next_keys(self):
        while bin(self.counter).count("1") > dukpt.MAX_ONE_BITS:
            self.counter += 1
        ksn = self.ikid + self.counter.to_bytes(4, "big")
        self.counter += 1
        return dukpt.WorkingKeys(dukpt.derive_transaction_key(self.initial_key, ksn), ksn)

    def next_stan(self):
        self.stan = self.stan % 999999 + 1
        return f"{self.stan:06d}"

    async def exchange(self, message, latencies, done_at):
        """Seal, send, read, open and check one message; the verified response dict."""
        mti = message["t"]
        if self.mode == BARE:
            data = self.canned[mti][0]
        else:
            keys = self.next_keys()
            secrets = {SECRET_TERMINAL_ID: self.terminal_id, SECRET_CARD_NUMBER: self.card}
            data = protect.seal(message, keys, protect.REQUEST, secrets)
        start = time.monotonic()
        self.writer.write(framing.frame(data))
        async with asyncio.timeout(EXCHANGE_TIMEOUT):
            payload = await framing.read_frame(self.reader)
        end = time.monotonic()
        if payload is None:
            raise Failure("connection closed")
        latencies.append(end - start)
        done_at.append(end)
        if self.mode == BARE:
            return None
        stan = message["11"]
        if self.mode == ECHO:  # the captured answer, under the captured request's keys
            _, _, canned = self.canned[mti]
            keys = dukpt.WorkingKeys(canned.transaction_key, canned.ksn)  # derived anew
            stan = self.canned[mti + "stan"]

        def keys_for(ksn):
            if ksn != keys.ksn:
                raise Failure("answer under another KSN")
            return keys

        response = protect.open_sealed(payload, keys_for, protect.RESPONSE)[0]
        if response["t"] != RESPONSE_MTI[mti] or response.get("11") != stan:
            raise Failure(f"answer does not match: {response['t']} {response.get('11')}")
        if response.get("39") != "00":
            raise Failure(f"{mti} answered {response.get('39')}")
        return response

    def request_0100(self):
        f7, f12, f13 = self.times.now()
        return {
            "t": "0100",
            "3": PROC_CLUB_CREDIT,
            "4": f"{BENCH_AMOUNT:012d}",
            "7": f7,
            "11": self.next_stan(),
            "12": f12,
            "13": f13,
            "22": "051",
            "25": "00",
            "42": self.merchant,
            "49": "364",
        }

    def request_0220(self, original, rrn):
        f7, f12, f13 = self.times.now()
        return {
            "t": "0220",
            "3": original["3"],
            "4": original["4"],
            "7": f7,
            "11": self.next_stan(),
            "12": f12,
            "13": f13,
            "37": rrn,
            "42": self.merchant,
            "49": "364",
            "90": "0100" + original["11"] + original["7"] + "0" * 22,
        }

    async def purchase(self, stats):
        msg = self.request_0100()
        first = await self.exchange(msg, stats["latency"], stats["done"])
        rrn = first["37"] if first is not None else "000000000000"
        await self.exchange(self.request_0220(msg, rrn), stats["latency"], stats["done"])

    async def run(self, stop_at, stats):
        try:
            while time.monotonic() < stop_at:
                start = time.monotonic()
                await self.purchase(stats)
                end = time.monotonic()
                stats["purchase"].append(end - start)
                stats["purchase_done"].append(end)
        except (Failure, OSError, EOFError, TimeoutError, ValueError) as e:
            stats["errors"].append(f"{self.terminal_id}: {type(e).__name__}: {e}")


# -- a worker process: some of the terminals ------------------------------------------------------


def worker_main(conn, numbers, cards, mode, canned, port, state):
    """In a worker process: connect its terminals, report, wait for (start, stop), run."""
    aes_cryptography.install()
    _raise_nofile()
    asyncio.run(_worker(conn, numbers, cards, mode, canned, port, state))


async def _worker(conn, numbers, cards, mode, canned, port, state):
    times = Times()
    terminals = [
        LoadTerminal(n, card, mode, canned, times, state.get(n, (1, 0)))
        for n, card in zip(numbers, cards, strict=True)
    ]
    await asyncio.gather(*(t.connect(port) for t in terminals))
    loop = asyncio.get_running_loop()
    conn.send(("connected", len(terminals)))
    start_at, window_start, window_end = await loop.run_in_executor(None, conn.recv)
    stats = {"latency": [], "done": [], "purchase": [], "purchase_done": [], "errors": []}
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))

    cpu = {}

    async def mark(name, when):
        await asyncio.sleep(max(0.0, when - time.monotonic()))
        cpu[name] = time.process_time()

    marks = [
        asyncio.create_task(mark("start", window_start)),
        asyncio.create_task(mark("end", window_end)),
    ]
    await asyncio.gather(*(t.run(window_end, stats) for t in terminals))
    await asyncio.gather(*marks)
    for t in terminals:
        t.close()
    await asyncio.sleep(0.1)
    stats["cpu"] = cpu["end"] - cpu["start"]
    stats["state"] = {t.number: (t.counter, t.stan) for t in terminals}
    conn.send(stats)


def _raise_nofile():
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# -- one run ---------------------------------------------------------------------------------------


def run_load(server, mode, canned, seconds, args, numbers, cards, state, snapshot=None):
    """One measured run against `server`: fresh connections, warm-up, window, drain.
    `state` ({terminal number: (next KSN counter, last STAN)}) is read and updated.
    snapshot: a function called at the window's start and end; its two results are
    returned as "snapshots"."""
    ctx = multiprocessing.get_context("spawn")
    workers = []
    for i in range(args.procs):
        parent, child = ctx.Pipe()
        part = slice(i, None, args.procs)
        p = ctx.Process(
            target=worker_main,
            args=(child, numbers[part], cards[part], mode, canned, server.port, state),
            daemon=True,
        )
        p.start()
        child.close()
        workers.append((p, parent))
    connected = 0
    for _, conn in workers:
        if not conn.poll(120):
            raise RuntimeError("a load worker did not connect its terminals in 120 s")
        connected += conn.recv()[1]
    start_at = time.monotonic() + 0.5
    window_start = start_at + args.warmup
    window_end = window_start + seconds
    for _, conn in workers:
        conn.send((start_at, window_start, window_end))
    time.sleep(max(0.0, window_start - time.monotonic()))
    snapshots = [snapshot()] if snapshot else []
    server_cpu = server.cpu()
    switches = server.switches()
    time.sleep(max(0.0, window_end - time.monotonic()))
    server_cpu = server.cpu() - server_cpu
    switches = [b - a for a, b in zip(switches, server.switches(), strict=True)]
    if snapshot:
        snapshots.append(snapshot())
    results = []
    for p, conn in workers:
        if not conn.poll(EXCHANGE_TIMEOUT + 60):
            raise RuntimeError("a load worker did not finish")
        results.append(conn.recv())
        p.join(30)
    merged = {k: [] for k in ("latency", "done", "purchase", "purchase_done", "errors")}
    for r in results:
        state.update(r["state"])
        for k in merged:
            merged[k].extend(r[k])
    in_window = [
        lat
        for lat, done in zip(merged["latency"], merged["done"], strict=True)
        if window_start <= done < window_end
    ]
    purchases = [
        lat
        for lat, done in zip(merged["purchase"], merged["purchase_done"], strict=True)
        if window_start <= done < window_end
    ]
    return {
        "mode": mode,
        "connected": connected,
        "seconds": seconds,
        "messages": len(in_window),
        "purchases": len(purchases),
        "latency": in_window,
        "purchase": purchases,
        "errors": merged["errors"],
        "client_cpu": [r["cpu"] for r in results],
        "server_cpu": server_cpu,
        "switches": switches,
        "snapshots": snapshots,
    }


def merge(runs):
    """The runs of one mode added up: rates over the summed windows, latencies pooled."""
    seconds = sum(r["seconds"] for r in runs)
    return {
        "mode": runs[0]["mode"],
        "connected": min(r["connected"] for r in runs),
        "seconds": seconds,
        "rate": sum(r["messages"] for r in runs) / seconds,
        "purchase_rate": sum(r["purchases"] for r in runs) / seconds,
        "latency": [x for r in runs for x in r["latency"]],
        "purchase": [x for r in runs for x in r["purchase"]],
        "errors": [x for r in runs for x in r["errors"]],
        "client_cpu": [
            sum(c) / seconds for c in zip(*(r["client_cpu"] for r in runs), strict=True)
        ],
        "server_cpu": sum(r["server_cpu"] for r in runs) / seconds,
        "waits": sum(r["switches"][0] for r in runs) / seconds,
        "preempted": sum(r["switches"][1] for r in runs) / seconds,
        "rates": [r["messages"] / r["seconds"] for r in runs],
    }


def capture(port, card):
    """One purchase by demo terminal 2 with the same generator: the canned requests,
    responses and keys for the echo runs."""
    captured = {}

    class Recording(LoadTerminal):
        async def exchange(self, message, latencies, done_at):
            keys = self.next_keys()
            secrets = {SECRET_TERMINAL_ID: self.terminal_id, SECRET_CARD_NUMBER: self.card}
            data = protect.seal(message, keys, protect.REQUEST, secrets)
            self.writer.write(framing.frame(data))
            payload = await framing.read_frame(self.reader)
            response = protect.open_sealed(payload, lambda ksn: keys, protect.RESPONSE)[0]
            if response.get("39") != "00":
                raise Failure(f"capture: {message['t']} answered {response.get('39')}")
            captured[message["t"]] = (data, payload, keys)
            captured[message["t"] + "stan"] = message["11"]
            return response

    async def go():
        t = Recording(2, card, CLUB, None, Times())
        await t.connect(port)
        stats = {"latency": [], "done": []}
        await t.purchase(stats)
        t.close()

    asyncio.run(go())
    return captured


def difference(before, after):
    """{name: [wall, calls, cpu]} of a window: the timers at its end less those at its start."""
    zero = (0.0, 0, 0.0)
    return {
        k: [b - a for a, b in zip(before.get(k, zero), v, strict=True)] for k, v in after.items()
    }


def print_profile(timers, messages, total_ms, sql, top=12):
    """The club server's CPU per message by category, over the window of the extra timed
    run: the timed parts, and the rest of the process's CPU (asyncio, sockets, framing);
    then the SQL statements per message and the `top` costliest."""
    print(
        f"club server CPU per message by category (an extra run with timers, its window: "
        f"{messages:,} messages, {total_ms:.3f} ms a message):"
    )
    for category, cpu, parts in categories(timers, messages, total_ms):
        note = "  (below zero: within the timers' own cost)" if cpu < 0 else ""
        print(f"  {category:<40} {cpu:7.3f}  {cpu / total_ms * 100:3.0f} %{note}")
        for name, part in sorted(parts, key=lambda kv: -kv[1]):
            print(f"    {name:<38} {part:7.3f}")
    count = sum(v[1] for v in sql.values()) / messages
    print(
        f"SQL statements per message: {count:.1f}; the {top} costliest (CPU us a message, calls):"
    )
    for name, (_, calls, cpu) in sorted(sql.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"  {cpu / messages * 1e6:6.1f} {calls / messages:5.2f}  {name}")


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="club window per round (echo: half)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="club, echo, bare per round")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each window")
    parser.add_argument(
        "--no-breakdown",
        dest="breakdown",
        action="store_false",
        help="skip the extra club run with timers that breaks the server's CPU per message "
        "down by category (it runs after the measured rounds, which are never timed)",
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=2,
        help="load generator processes (default 2: one alone "
        "saturates a core against the echo server and would lower the ceiling)",
    )
    parser.add_argument(
        "--cprofile",
        metavar="FILE",
        help="one more club run at the end with cProfile on in the server over its window; "
        "the stats go to FILE (python -m pstats FILE)",
    )
    args = parser.parse_args()
    windows = {CLUB: args.seconds, ECHO: args.seconds / 2, BARE: args.seconds / 2}

    aes_cryptography.install()
    _raise_nofile()
    t0 = time.monotonic()
    runs = {CLUB: [], ECHO: [], BARE: []}
    with tempfile.TemporaryDirectory(prefix="vafa-load-") as tmp:
        db = str(Path(tmp) / "club.db")
        cards = seed_bench_db(db, cards=args.terminals + 1, load_terminals=args.terminals)
        first = seed.LOAD_TERMINALS_FIRST
        numbers = list(range(first, first + args.terminals))
        cards, capture_card = cards[:-1], cards[-1]
        with ServerProcess.start("club", db) as club:
            canned = capture(club.port, capture_card)
            answers = {k.encode(): v[1] for k, v in canned.items() if not k.endswith("stan")}
            with ServerProcess.start("echo", answers) as echo:
                servers = {CLUB: club, ECHO: echo, BARE: echo}
                state = {}  # the terminals' KSN counters and STANs, across runs
                for i in range(args.rounds):  # the order alternates, so drift hits all alike
                    for mode in (CLUB, ECHO, BARE) if i % 2 == 0 else (BARE, ECHO, CLUB):
                        run = run_load(
                            servers[mode], mode, canned, windows[mode], args, numbers, cards, state
                        )
                        runs[mode].append(run)
            stats = club.call("stats")
            breakdown = None
            if args.breakdown:  # a run of its own: the timers cost about 4 % of the CPU
                club.call("profile")

                def snapshot():
                    return club.call("snapshot")

                run = run_load(
                    club, CLUB, canned, args.seconds, args, numbers, cards, state, snapshot
                )
                (timers_from, sql_from, messages_from), (timers_to, sql_to, messages_to) = run[
                    "snapshots"
                ]
                messages = messages_to - messages_from
                breakdown = (
                    difference(timers_from, timers_to),
                    messages,
                    run["server_cpu"] / messages * 1000,
                    difference(sql_from, sql_to),
                )
            if args.cprofile:  # cProfile over one more window: ("cprofile", None) starts it
                paths = [None, str(Path(args.cprofile).resolve())]

                def toggle():
                    return club.call(("cprofile", paths.pop(0)))

                run_load(club, CLUB, canned, args.seconds, args, numbers, cards, state, toggle)
        ledger = ledger_check(db)

    sizes = ", ".join(
        f"{k} {len(v[0])} -> {len(v[1])}" for k, v in canned.items() if not k.endswith("stan")
    )
    print(
        f"Python {sys.version.split()[0]}, {args.terminals} terminals connected at once, each "
        f"in a closed loop of two-phase club-credit purchases; load generator: {args.procs} "
        f"process(es); each server in its own process"
    )
    print(
        f"{args.rounds} rounds; windows per round: club {windows[CLUB]:g} s, echo "
        f"{windows[ECHO]:g} s, bare {windows[BARE]:g} s, each after {args.warmup:g} s of "
        f"warm-up on fresh connections"
    )
    print(f"message bytes (request -> response): {sizes}")
    print(
        f"{'server':<24} {'msgs/s':>8} {'purch/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'server CPU':>10} {'client CPU':>11}  per round msgs/s"
    )
    labels = {CLUB: "club server", ECHO: "echo (same generator)", BARE: "echo (bare client)"}
    merged = {mode: merge(r) for mode, r in runs.items()}
    for mode, r in merged.items():
        client = "+".join(f"{c * 100:.0f}%" for c in r["client_cpu"])
        per_round = ", ".join(f"{x:,.0f}" for x in r["rates"])
        print(
            f"{labels[mode]:<24} {r['rate']:8,.0f} {r['purchase_rate']:8,.0f} "
            f"{pct(r['latency'], 50) * 1000:8.1f} {pct(r['latency'], 99) * 1000:8.1f} "
            f"{len(r['errors']):>6} {r['server_cpu'] * 100:9.0f}% {client:>11}  {per_round}"
        )
    club_r, echo_r, bare_r = merged[CLUB], merged[ECHO], merged[BARE]
    rounds = ", ".join(
        f"{c / e:.2f}x" for c, e in zip(club_r["rates"], echo_r["rates"], strict=True)
    )
    print(
        f"ratio club / echo (same generator): {club_r['rate'] / echo_r['rate']:.2f}x "
        f"(per round {rounds})   goal: >= 0.5x"
    )
    print(f"ratio club / echo (bare client):    {club_r['rate'] / bare_r['rate']:.2f}x")
    print(
        f"club: purchase p50 {pct(club_r['purchase'], 50) * 1000:.0f} ms, p99 "
        f"{pct(club_r['purchase'], 99) * 1000:.0f} ms; server CPU per message "
        f"{club_r['server_cpu'] / club_r['rate'] * 1000:.2f} ms; terminals connected "
        f"{club_r['connected']}; server stats {stats}"
    )
    print(
        f"club server off the CPU: {club_r['waits']:,.0f} waits/s (I/O, no work), "
        f"{club_r['preempted']:,.0f} preemptions/s (the CPU given to another process)"
    )
    for r in merged.values():
        for e in r["errors"][:5]:
            print(f"  error ({r['mode']}): {e}")
    if stats.get("commits"):
        print(
            f"group commit: {stats['commits']:,} commits for {stats['committed_requests']:,} "
            f"requests ({stats['committed_requests'] / stats['commits']:.1f} a commit)"
        )
    if breakdown:
        print_profile(*breakdown)
    print(f"{ledger}")
    print(f"total time {time.monotonic() - t0:.0f} s")
    return 0 if ledger.ok and not any(r["errors"] for r in merged.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
