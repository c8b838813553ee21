"""The club server's CPU per message, without sockets: for comparing two trees on a busy machine.

    python bench/bench_server_cpu.py [--terminals 200] [--purchases 20] [--repeat 3]

bench_load.py's figure (server CPU per message under 1,000 connections) moves by 5-10 % from
run to run when other jobs share the cores, more than a change of a few statements is worth.
Here everything runs in one thread: a real ClubServer (started, group commit on, over a fresh
seeded SQLite file) and --terminals load-test terminals as coroutines in its event loop, each
doing --purchases two-phase club-credit purchases (0100/0110, 0220/0230) as in bench_load.py.
A terminal hands its sealed request to the server's own request path (ClubServer._process:
decode, keys, MAC, format, field 62, content hash, the database work in the group commit) and
seals the answer as the server does (protection.seal_response, framed), then opens and checks
it. The thread's CPU time (time.thread_time) is read around the terminals' own work (building,
sealing, opening) and that is taken off: what is left is the server's, per message, minus
its sockets and asyncio streams. The first two purchases of every terminal are warm-up (every
cache filled); the rest are measured. --repeat runs, each on a fresh database; the least is
printed with all of them, then the SQL statements per message of one more run (traced).
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.protocol import aes_cryptography, framing, protect
from agent.protocol.messages import (
    RESPONSE_MTI,
    SECRET_CARD_NUMBER,
    SECRET_TERMINAL_ID,
)
from bench._servers import seed_bench_db
from bench.bench_load import CLUB, LoadTerminal, Times
from simulator.club_server import protection, seed
from simulator.club_server.server import ClubServer

WARMUP = 2  # purchases per terminal before the measurement


class Meter:
    """CPU seconds of the terminals' own work (the rest of the thread's is the server's)."""

    def __init__(self):
        self.terminal = 0.0
        self.messages = 0
        self.on = False


async def exchange(server, t, message, meter):
    c = time.thread_time()
    keys = t.next_keys()
    secrets = {SECRET_TERMINAL_ID: t.terminal_id, SECRET_CARD_NUMBER: t.card}
    data = protect.seal(message, keys, protect.REQUEST, secrets)
    meter.terminal += time.thread_time() - c
    outcome, server_keys = await server._process(data)  # the server's work, timed as the rest
    frame = framing.frame(protection.seal_response(outcome.message, server_keys))
    c = time.thread_time()

    def keys_for(ksn):
        if ksn != keys.ksn:
            raise RuntimeError("answer under another KSN")
        return keys

    response = protect.open_sealed(frame[2:], keys_for, protect.RESPONSE)[0]
    if response["t"] != RESPONSE_MTI[message["t"]] or response.get("39") != "00":
        raise RuntimeError(f"{message['t']} answered {response.get('39')}")
    meter.terminal += time.thread_time() - c
    if meter.on:
        meter.messages += 1
    return response


async def terminal_loop(server, t, purchases, meter, warm):
    for i in range(purchases + WARMUP):
        if i == WARMUP:
            warm.set_result(None)
            while not meter.on:  # the others warm up
                await asyncio.sleep(0)
        c = time.thread_time()
        first_message = t.request_0100()
        meter.terminal += time.thread_time() - c
        first = await exchange(server, t, first_message, meter)
        c = time.thread_time()
        second = t.request_0220(first_message, first["37"])
        meter.terminal += time.thread_time() - c
        await exchange(server, t, second, meter)


async def one_run(terminals, purchases, trace=False):
    with tempfile.TemporaryDirectory(prefix="vafa-cpu-") as tmp:
        db = str(Path(tmp) / "club.db")
        cards = seed_bench_db(db, cards=terminals, load_terminals=terminals)
        server = ClubServer(db, port=0)
        await server.start()
        try:
            meter = Meter()
            first = seed.LOAD_TERMINALS_FIRST
            times = Times()
            ts = [
                LoadTerminal(first + i, cards[i], CLUB, None, times, (1, 0))
                for i in range(terminals)
            ]
            warm = [asyncio.get_running_loop().create_future() for _ in ts]
            tasks = [
                asyncio.create_task(terminal_loop(server, t, purchases, meter, w))
                for t, w in zip(ts, warm, strict=True)
            ]
            await asyncio.gather(*warm)
            statements = []
            if trace:  # a Python call per statement: not in the CPU runs
                server.db.storage._conn.set_trace_callback(statements.append)
            meter.terminal = 0.0
            start = time.thread_time()
            meter.on = True
            await asyncio.gather(*tasks)
            total = time.thread_time() - start
            server.db.storage._conn.set_trace_callback(None)
        finally:
            await server.stop()
    server_cpu = total - meter.terminal
    return server_cpu / meter.messages, len(statements) / meter.messages, meter.messages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--purchases", type=int, default=20, help="measured, per terminal")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    aes_cryptography.install()
    results = [asyncio.run(one_run(args.terminals, args.purchases)) for _ in range(args.repeat)]
    per_message = [r[0] * 1000 for r in results]
    _, statements, _ = asyncio.run(one_run(args.terminals, 2, trace=True))
    print(
        f"club server CPU per message, one thread, no sockets: {min(per_message):.3f} ms "
        f"(runs: {', '.join(f'{x:.3f}' for x in per_message)}); {results[-1][2]:,} messages a "
        f"run; SQL statements per message {statements:.1f} (one more run, traced)"
    )


if __name__ == "__main__":
    main()
