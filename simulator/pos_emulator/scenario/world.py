"""What one scenario runs against: World (its club: a copy of a demo club database seeded once
per process with the reference club server over it in a thread, or an outside club) and its
Copy objects (one emulated terminal each, optionally behind the netfault proxy, with its card
reader, keypad and variables). World also reads the club's database for the expectations and
runs the club-side steps (register, campaigns)."""

import datetime as dt
import shutil
import tempfile
import threading
import time
from pathlib import Path

from agent.ports import ScriptedKeypad
from simulator.club_server import seed
from simulator.pos_emulator.scenario.card_reader import ScenarioReader
from simulator.pos_emulator.scenario.variables import birthday_today
from simulator.pos_emulator.terminal import (
    ENROLLMENT,
    EmulatedTerminal,
    terminal_folder,
    terminal_merchant,
)

_template_lock = threading.Lock()
_template = {}


def template_db():
    """A seeded demo club database, made once per process; its path."""
    with _template_lock:
        if "db" not in _template:
            folder = Path(tempfile.mkdtemp(prefix="vafa-scenario-template-"))
            db = folder / "club.db"
            seed.seed_demo(str(db))
            _template["db"] = db
        return _template["db"]


class ServerTimer:
    """Times the club server's handling of each message (decode, checks, database work)."""

    def __init__(self, server):
        self.messages = []  # (start, seconds)
        original = server._process

        async def timed(payload):
            start = time.perf_counter()
            try:
                return await original(payload)
            finally:
                self.messages.append((start, time.perf_counter() - start))

        server._process = timed


class Copy:
    """One emulated terminal running the scenario's steps, with its variables."""

    def __init__(self, world, index, number):
        self.world = world
        self.index = index
        self.number = number
        self.root = world.terminal_root(number)
        self.proxy = None
        host, port = world.address
        if world.scenario.netfault is not None:
            from simulator.netfault import FaultProxy, Plan

            nf = world.scenario.netfault
            plan = Plan(nf["faults"], nf["delay_s"])
            self.proxy = FaultProxy(host, port, plan).start_in_thread()
            host, port = "127.0.0.1", self.proxy.port
        self.host = host
        self.port = port
        self.merchant = terminal_merchant(number, world.club)
        self.reader = ScenarioReader()
        self.keypad = ScriptedKeypad(dict(ENROLLMENT))
        self.terminal = None
        self.start_terminal()
        self.variables = {"copy": index, "terminal_id": self.terminal.terminal_id}
        self.variables["birthday_today"] = birthday_today(time.time())
        self.windows = []  # (step key, start, end)
        self.failures = []

    def start_terminal(self):
        factory = self.world.terminal_factory
        if factory is not None:  # a pluggable terminal (simulator/fil: the flashed device)
            t = self.terminal = factory(self)
            self.reader, self.keypad = t.reader, t.keypad
            return {"actions": []}
        options = self.world.scenario.terminal
        t = EmulatedTerminal(
            self.root,
            self.port,
            self.host,
            number=self.number,
            timeout_ms=options.get("timeout_ms", 5000),
            merchant=self.merchant,
        )
        t.engine.reader = t.reader = self.reader
        t.engine.keypad = self.keypad
        if "repeats" in options:
            t.engine.club.repeats = options["repeats"]
        self.terminal = t
        return t.engine.recover()

    def restart_terminal(self):
        restart = getattr(self.terminal, "restart", None)
        if restart is not None:  # a pluggable terminal restarts itself, keeping its state
            return restart()
        self.terminal.close()
        return self.start_terminal()

    def close(self):
        if self.terminal is not None:
            self.terminal.close()
        if self.proxy is not None:
            self.proxy.stop()


class World:
    """What one scenario runs against: its club (a fresh seeded copy, or the outside club at
    `outside` = (host, port)), and its copies. keep: the folder of the terminals' files kept
    between scenarios (outside club only)."""

    def __init__(self, scenario, terminal_factory=None, outside=None, keep=None):
        self.scenario = scenario
        self.terminal_factory = terminal_factory  # (copy) -> terminal; None: EmulatedTerminal
        self.root = Path(tempfile.mkdtemp(prefix="vafa-scenario-"))
        self.club = None  # the club server of this scenario (None with an outside club)
        self.outside = outside
        self.keep = Path(keep) if keep is not None else None
        self.address = outside
        self.timer = None
        self.unchecked = []  # expectations an outside club's database would answer
        self.copies = []

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        sc = self.scenario
        if sc.concurrency > 1:
            first = seed.LOAD_TERMINALS_FIRST
            numbers = list(range(first, first + sc.concurrency))
        else:
            numbers = [sc.terminal.get("number", 1)]
        if self.outside is None:
            self.start_club(numbers)
        for i, n in enumerate(numbers):
            self.copies.append(Copy(self, i, n))

    def start_club(self, numbers):
        from simulator.club_server.server import run_in_thread

        sc = self.scenario
        db = self.root / "club.db"
        template = template_db()
        shutil.copyfile(template, db)
        shutil.copyfile(str(template) + ".key", str(db) + ".key")
        if sc.concurrency > 1:
            seed.add_load_terminals(str(db), sc.concurrency)
        self.db_path = str(db)
        self.club = run_in_thread(str(db), **sc.club)
        self.address = ("127.0.0.1", self.club.port)
        self.timer = ServerTimer(self.club.server)

    def terminal_root(self, number):
        """Terminal `number`'s files: fresh for each scenario, or with an outside club kept in
        `keep` (the club remembers the terminal)."""
        if self.outside is not None and self.keep is not None:
            return terminal_folder(self.keep, number)
        return self.root / f"terminal-{number}"

    def close(self):
        for c in self.copies:
            c.close()
        if self.club is not None:
            self.club.stop()
            self.club = None
        shutil.rmtree(self.root, ignore_errors=True)

    # -- the club's database, for expectations -------------------------------------------

    def balances(self, pan, merchant):
        def read(store):
            vault = seed.vault_for(self.db_path)
            card = store.card_by_hash(vault.lookup_hash(pan))
            if card is None:
                return None
            if card.get("linked_card_id"):
                card = store.card(card["linked_card_id"])
            found = {"club_credit": 0, "store_credit": 0, "points": 0}
            names = {"club": "club_credit", "store": "store_credit", "points": "points"}
            for a in store.accounts_of_card(card["id"]):
                if a["kind"] == "club" or a["merchant_id"] == merchant:
                    found[names[a["kind"]]] = a["balance"]
            return found

        return self.club.call(read)

    def run_register(self, words):
        """A `vafa club-server` register command on the club's database (registry_cli.py):
        (done, what it said). The club sees it at its next request."""
        from simulator.club_server.registry_cli import run_words

        return run_words(self.db_path, words)

    def run_campaigns(self, days):
        """The club's campaigns job for today + `days` (Tehran); {campaign: members given}."""
        from simulator.club_server import campaigns, tehran

        day = tehran.local_date(time.time()) + dt.timedelta(days=days)
        return self.club.call(lambda store: campaigns.run(store, day, time.time()))

    def sms_texts(self):
        return self.club.call(lambda store: [m["text"] for m in store.outbox(10_000)])

    def ledger(self):
        from simulator.club_server.ledger import ledger_check

        return self.club.call(ledger_check)
