"""Servers for the network benchmarks, each in its own process (so it has its own GIL), and the
bench data shared by bench_purchase.py and bench_load.py.

    proc = ServerProcess.start("club", db_path)        # the real club server (ClubServer)
    proc = ServerProcess.start("echo", {b"0100": frame, b"0220": frame})
    proc.port; proc.call("cpu"); proc.call("profile"); proc.call("timers"); proc.stop()

The echo server is the floor / ceiling: a bare asyncio stream server with the club server's
framing (agent.protocol.framing.read_frame, writer.write + drain per answer) that answers every
frame with a fixed frame chosen by the request's first 4 bytes (its MTI), no parsing, no
crypto, no database. The benchmarks give it the real responses they captured, so request and
response sizes are the real messages' sizes.

Commands over the pipe (answered in the server's event loop): "cpu" -> the process's CPU
seconds so far; "switches" -> its (voluntary, involuntary) context switches so far (waits for
I/O or work, preemptions); "profile" -> wrap the club server's steps with timers (club only;
call it after the clean measurements: the wrappers cost about a microsecond each); "timers" ->
{step: [seconds, calls]}; "sql" -> the same per SQL statement (its first 90 characters);
"snapshot" -> (timers, sql, messages so far) at one instant;
("cprofile", None) -> start cProfile in the server, ("cprofile", path) -> stop it and write its
stats to path (pstats); "stats" ->
ClubServer.stats with the database's group commit counters; "stop" -> stop and exit.
"""

import asyncio
import contextlib
import cProfile
import logging
import multiprocessing
import os
import resource
import time

# Bench card numbers: 16 digits, Luhn-valid, in a range of the club's BIN that seed.py does not
# use (its personas are 98791100..., its behaviour cards 98791190...).
BENCH_CARD_PREFIX = "98791180"
BENCH_CLUB_CREDIT = 10_000_000_000  # rials: enough for any run
BENCH_AMOUNT = 100_000  # rials per purchase (tier C: 5 % discount + 5,000 fee = 100,000)


def luhn_complete(body):
    """body (15 digits) + its Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these digits are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def bench_card(i):
    return luhn_complete(f"{BENCH_CARD_PREFIX}{i:07d}")


def seed_bench_db(db_path, cards, load_terminals=0):
    """The demo club, `cards` bench cards (active, tier C, BENCH_CLUB_CREDIT of club credit)
    and `load_terminals` load-test terminals (VT001001...); returns the card numbers."""
    from simulator.club_server import accounts, seed, tehran
    from simulator.club_server.storage import Storage

    seed.seed_demo(db_path)
    store = Storage(db_path)
    vault = seed.vault_for(db_path)
    now = time.time()
    expiry = tehran.add_months_yymm(now, 36)
    numbers = [bench_card(i) for i in range(cards)]
    try:
        with store.transaction():
            for pan in numbers:
                member = seed.add_member(store, now, phone="09121234567")
                card_id = seed.add_card(store, vault, pan, expiry=expiry, member_id=member, now=now)
                seed.opening_balance(store, card_id, accounts.CLUB, "", BENCH_CLUB_CREDIT, now, 365)
        if load_terminals:
            seed.add_load_terminals(store, load_terminals)
    finally:
        store.close()
    return numbers


# -- the server processes ------------------------------------------------------------------------


class ServerProcess:
    """A server in a child process (multiprocessing, spawn): .port, .pid, call(), stop()."""

    def __init__(self, process, conn, port):
        self.process = process
        self.conn = conn
        self.port = port
        self.pid = process.pid

    @classmethod
    def start(cls, kind, arg, timeout=30.0):
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_child_main, args=(kind, arg, child), daemon=True)
        process.start()
        child.close()
        if not parent.poll(timeout):
            process.kill()
            raise RuntimeError(f"{kind} server did not start in {timeout} s")
        port = parent.recv()
        if isinstance(port, Exception):
            raise port
        return cls(process, parent, port)

    def cpu(self):
        """The server's CPU seconds so far: from /proc at once (Linux), else asked over the
        pipe (answered when its event loop gets to it, up to a loop pass late under load)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return self.call("cpu")

    def switches(self):
        """(voluntary, involuntary) context switches so far: /proc, else over the pipe."""
        try:
            counts = {}
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    counts[key] = value.strip()
            return int(counts["voluntary_ctxt_switches"]), int(counts["nonvoluntary_ctxt_switches"])
        except (OSError, ValueError, KeyError):
            return tuple(self.call("switches"))

    def call(self, command, timeout=30.0):
        self.conn.send(command)
        if not self.conn.poll(timeout):
            raise RuntimeError(f"server did not answer {command!r} in {timeout} s")
        return self.conn.recv()

    def stop(self, timeout=30.0):
        if self.process.is_alive():
            with contextlib.suppress(OSError, EOFError, RuntimeError):
                self.call("stop", timeout)
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _child_main(kind, arg, conn):
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(_serve(kind, arg, conn))
    except Exception as e:  # before the port was sent: report it; after: the parent sees EOF
        with contextlib.suppress(OSError):
            conn.send(RuntimeError(f"{kind} server failed: {e!r}"))
        raise


async def _serve(kind, arg, conn):
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    timers = Timers()
    profiler = cProfile.Profile()
    if kind == "club":
        from simulator.club_server.server import ClubServer

        server = ClubServer(arg, port=0)
        await server.start()
        port, stop = server.port, server.stop
    elif kind == "echo":
        server = None
        echo = await start_echo(arg)
        port = echo.sockets[0].getsockname()[1]

        async def stop():
            echo.close()
            await echo.wait_closed()

    else:
        raise ValueError(kind)

    def on_command():
        try:
            command = conn.recv()
        except EOFError:  # the parent is gone
            done.set()
            return
        if command == "stop":
            done.set()
            return
        if command == "cpu":
            conn.send(time.process_time())
        elif command == "switches":  # (waits, preemptions) so far: why it was off the CPU
            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send((usage.ru_nvcsw, usage.ru_nivcsw))
        elif command == "profile":
            if server is not None:
                instrument(server, timers)
            conn.send(True)
        elif command == "timers":
            conn.send(dict(timers.totals))
        elif command == "sql":
            conn.send(dict(timers.sql))
        elif command == "snapshot":  # the three at one instant (three calls: loop passes apart)
            conn.send((dict(timers.totals), dict(timers.sql), server.stats["messages"]))
        elif isinstance(command, tuple) and command[0] == "cprofile":  # ("cprofile", path|None)
            if command[1] is None:
                profiler.enable()
            else:
                profiler.disable()
                profiler.dump_stats(command[1])
            conn.send(True)
        elif command == "stats":  # the server's counters and its group commit's
            conn.send({**server.stats, **server.db.stats} if server is not None else {})
        else:
            conn.send(ValueError(command))

    loop.add_reader(conn.fileno(), on_command)
    conn.send(port)
    await done.wait()
    loop.remove_reader(conn.fileno())
    await stop()
    conn.send("stopped")


async def start_echo(answers, host="127.0.0.1"):
    """The bare echo-style server: each frame answered by answers[first 4 bytes] (framed)."""
    from agent.protocol import framing
    from agent.protocol.errors import FramingError

    framed = {key: framing.frame(payload) for key, payload in answers.items()}

    async def connection(reader, writer):
        try:
            while True:
                payload = await framing.read_frame(reader)
                if payload is None:
                    break
                writer.write(framed[payload[:4]])
                await writer.drain()
        except (FramingError, ConnectionError, KeyError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, 0, backlog=4096)


# -- timers in the club server process -----------------------------------------------------------


class Timers:
    """Named timers: {name: [wall seconds, calls, CPU seconds of the thread]}. Wall time
    includes waits (I/O, preemption by other processes); CPU time does not."""

    def __init__(self):
        self.totals = {}
        self.sql = {}  # the first words of a statement -> the same triple
        self.in_handle = False  # inside Host.handle (its SQL is the handler's)

    @staticmethod
    def _add(table, name, wall, cpu):
        entry = table.get(name)
        if entry is None:
            table[name] = [wall, 1, cpu]
        else:
            entry[0] += wall
            entry[1] += 1
            entry[2] += cpu

    def add(self, name, wall, cpu):
        self._add(self.totals, name, wall, cpu)

    def add_sql(self, name, wall, cpu):
        self._add(self.sql, name, wall, cpu)

    def wrap(self, name, fn):
        clock, cpu_clock, add = time.perf_counter, time.thread_time, self.add

        def timed(*args, **kwargs):
            t, c = clock(), cpu_clock()
            try:
                return fn(*args, **kwargs)
            finally:
                add(name, clock() - t, cpu_clock() - c)

        return timed


class _TimedConnection:
    """Stands in for Storage's sqlite3 connection: times every statement, COMMIT apart, and
    apart again the statements run inside Host.handle (timers.in_handle) from those of the
    group commit around it (BEGIN, savepoints, COMMIT)."""

    def __init__(self, conn, timers):
        self._conn = conn
        self._timers = timers

    def execute(self, sql, args=()):
        t, c = time.perf_counter(), time.thread_time()
        try:
            return self._conn.execute(sql, args)
        finally:
            wall, cpu = time.perf_counter() - t, time.thread_time() - c
            if sql == "COMMIT":
                name = "sql COMMIT"
            elif self._timers.in_handle:
                name = "sql statements (in handle)"
            else:
                name = "sql around handle (BEGIN, savepoints)"
            self._timers.add(name, wall, cpu)
            self._timers.add_sql(" ".join(sql.split())[:90], wall, cpu)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def instrument(server, timers):
    """Wrap the steps of ClubServer._process (simulator/club_server/server.py) with timers.
    The handler's time ("database transaction": Host.handle) includes its SQL statements."""
    from simulator.club_server import protection, wire

    if getattr(server, "_bench_instrumented", False):
        return
    server._bench_instrumented = True
    wire.decode = timers.wrap("decode (pyiso8583)", wire.decode)
    wire.check_format = timers.wrap("format check", wire.check_format)
    server._keyring.keys_for = timers.wrap("DUKPT keys", server._keyring.keys_for)
    protection.verify_request_mac = timers.wrap("MAC verify", protection.verify_request_mac)
    protection.decrypt_secrets = timers.wrap("field 62 decrypt", protection.decrypt_secrets)
    server._content_hash = timers.wrap("content hash", server._content_hash)
    handle = server._host.handle

    def in_handle(*args):
        timers.in_handle = True
        try:
            return handle(*args)
        finally:
            timers.in_handle = False

    server._host.handle = timers.wrap("database transaction", in_handle)
    protection.seal_response = timers.wrap("seal response", protection.seal_response)
    storage = server.db.storage
    storage._conn = _TimedConnection(storage._conn, timers)


# Where a message's server CPU goes, by category (bench_load.py --profile): timer names.
CATEGORIES = (
    (
        "SQLite",
        ("sql statements (in handle)", "sql around handle (BEGIN, savepoints)", "sql COMMIT"),
    ),
    (
        "protocol",
        (
            "decode (pyiso8583)",
            "format check",
            "DUKPT keys",
            "MAC verify",
            "field 62 decrypt",
            "content hash",
            "seal response",
        ),
    ),
)


def categories(timers, messages, total_ms):
    """[(category, CPU ms per message, [(timer, ms)])]: SQLite, protocol, business rules in
    Python (Host.handle minus its SQL), and the rest of `total_ms` (asyncio, sockets,
    framing, the server's own bookkeeping)."""

    def ms(name):
        return timers.get(name, (0, 0, 0))[2] / messages * 1000

    out = []
    for name, parts in CATEGORIES:
        items = [(p, ms(p)) for p in parts]
        out.append((name, sum(v for _, v in items), items))
    business = ms("database transaction") - ms("sql statements (in handle)")
    out.append(("business rules (Python)", business, []))
    rest = total_ms - sum(v for _, v, _ in out)
    out.append(("asyncio, sockets, framing, the rest", rest, []))
    return out
