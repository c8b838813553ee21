"""Runs checked scenarios (schema.py) against a fresh seeded club server each.

Each scenario gets a copy of a demo club database seeded once per process, the reference club
server over it in a thread (its message handling timed, for the report), optionally the
netfault proxy in front of it, and `concurrency` emulated terminals (EmulatedTerminal: the
real engine) that run the steps `repeat` times each, in their own threads. A copy stops at its
first failed expectation; the failures name the file, scenario, copy, round, step and
expectation.

Each terminal sends the merchant id its club registered it under (terminal 3: the pool,
terminal 4: the bookshop; terminal.terminal_merchant), and `balances` read store credit and
points at that merchant unless the row names one.

An outside club (run_files(club=(host, port)), `vafa emulator --scenario ... --club`): no
copy, no club of its own; every scenario talks to that club as it is. Its database is not
here, so the expectations that read it (`balances`, `ledger_ok`) are counted as not checked
and reported; the scenario's `club:` settings do not apply; the club's time is not measured.
Each terminal number is one terminal for the whole run (its files in one folder, kept between
scenarios and runs), because that club remembers it: its KSN counter, its STANs, its totals
of the day (terminal.LASTING_BLOBS).
"""

import copy as copying
import datetime as dt
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.card_io.clubcard import ClubCardReader
from agent.ports import Card, ScriptedKeypad
from simulator.cards import catalogue
from simulator.cards import personas as chip
from simulator.cards.slots import InProcessSlot
from simulator.club_server import seed
from simulator.pos_emulator.scenario.schema import (
    ACCOUNTS,
    FLOWS,
    VARIABLE,
    ScenarioError,
    expand_paths,
    load_file,
)
from simulator.pos_emulator.terminal import (
    ENROLLMENT,
    PERSONAS,
    SWIPE,
    EmulatedTerminal,
    terminal_folder,
    terminal_merchant,
)

ENTRY_CODES = {"insert": "051", "swipe": "021", "manual": "012"}
BANK_PREFIX = "603799"
CLUB_DATABASE_KEYS = ("balances", "ledger_ok", "sms")  # expectations read from the club database

_template_lock = threading.Lock()
_template = {}


class StepFailed(Exception):
    pass


# -- cards -----------------------------------------------------------------------------------


def persona_number(name):
    """The card number of a card name (simulator/cards/catalogue.py), None for blank."""
    return catalogue.number(name)


def card_entry(persona, number, entry=None):
    """How a card step presents its card: the step's `entry`, else a swipe for a swipe persona
    or a bank card number, else inserted (docs/testing.md)."""
    if entry is not None:
        return entry
    if (persona in PERSONAS and PERSONAS[persona][2] == SWIPE) or (number or "").startswith(
        BANK_PREFIX
    ):
        return "swipe"
    return "insert"


class ScenarioReader:
    """The card reader: presents the card of the last card: step each time one is asked for.

    Inserted club cards are virtual chip cards (simulator/cards) read by the agent's
    ClubCardReader, a fresh one each read (the customer inserts the card again); swiped and
    manually entered cards are handed over as read."""

    def __init__(self):
        self.slot = InProcessSlot()
        self.chip_reader = ClubCardReader(self.slot.reader, chip.TEST_IMK)
        self.make_chip = None  # () -> a virtual card, for inserted cards
        self.card = None  # an agent.ports.Card, for swiped or typed cards

    def show(self, spec):
        """spec: {"out": True} or {persona|number, entry, expiry} (variables substituted)."""
        self.chip_reader.release()
        self.slot.remove()
        self.make_chip = self.card = None
        if spec.get("out"):
            return
        persona = spec.get("persona")
        number = persona_number(persona) if persona else spec["number"]
        entry = card_entry(persona, number, spec.get("entry"))
        if entry == "insert":
            if persona in chip.PERSONAS:
                self.make_chip = lambda: chip.make_card(persona)
            else:
                self.make_chip = lambda: chip.issued_card(number)
            return
        if number is None:
            raise StepFailed(f"persona {persona} is a chip card only: it cannot be {entry}d")
        self.card = Card(number, spec.get("expiry"), ENTRY_CODES[entry])

    def read(self, timeout_ms=30000):
        if self.make_chip is not None:
            self.chip_reader.release()
            self.slot.insert(self.make_chip())
            return self.chip_reader.read(timeout_ms)
        return self.card

    def present(self, card=None):
        if self.make_chip is not None:
            return self.chip_reader.present(card)
        return True

    def release(self):
        self.chip_reader.release()


# -- the world of one scenario ---------------------------------------------------------------


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


# -- running ---------------------------------------------------------------------------------


def birthday_today(now):
    """A birth date (Jalali YYYYMMDD, as typed at enrollment) whose birthday is today in
    Tehran, 30 years ago: ${birthday_today} (the campaigns' birthday gift)."""
    from agent import jalali
    from simulator.club_server import tehran

    d = tehran.local_date(now)
    y, m, day = jalali.gregorian_to_jalali(d.year, d.month, d.day)
    day = min(day, jalali.month_length(y - 30, m))  # 30 Esfand of a common year: the 29th
    return f"{y - 30:04d}{m:02d}{day:02d}"


def substitute(value, variables, step):
    if isinstance(value, str):
        whole = VARIABLE.fullmatch(value)

        def lookup(name):
            if name not in variables:
                known = ", ".join(sorted(variables)) or "none"
                raise StepFailed(
                    f"${{{name}}} is not captured by an earlier step (variables: {known})"
                )
            return variables[name]

        if whole:
            return lookup(whole.group(1))
        return VARIABLE.sub(lambda m: str(lookup(m.group(1))), value)
    if isinstance(value, dict):
        return {k: substitute(v, variables, step) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, step) for v in value]
    return value


def _collapse(lines):
    return " ".join(str(line).strip() for line in lines if str(line).strip())


def _same(expected, actual):
    if expected == actual:
        return True
    if (
        isinstance(actual, str)
        and isinstance(expected, int | float)
        and not isinstance(expected, bool)
    ):
        return str(expected) == actual
    if isinstance(expected, str) and isinstance(actual, int | float):
        return expected == str(actual)
    return False


def run_action(c, step, value, params):
    engine = c.terminal.engine
    if step.action == "card":
        c.reader.show(value)
        return None
    if step.action == "keys":
        if isinstance(value, dict):
            for k, v in value.items():
                if v is None:
                    c.keypad.answers.pop(k, None)
                else:
                    c.keypad.answers[k] = v
        else:
            c.keypad.confirms.extend(v == "confirm" for v in value)
        return None
    if step.action == "wait":
        time.sleep(value)
        return None
    if step.action == "drain":
        engine.saf.drain(force=True)
        left = engine.pending()
        return {"flow": "drain", "pending": left, "outcome": "approved" if not left else "failed"}
    if step.action == "register":
        if c.world.club is None:
            raise StepFailed("register: changes the club's register; the club is an outside one")
        ok, text = c.world.run_register(value)
        return {"flow": "register", "outcome": "approved" if ok else "declined", "message": text}
    if step.action == "campaigns":
        if c.world.club is None:
            raise StepFailed("campaigns: runs the club's job, but the club is an outside one")
        return {"flow": "campaigns", "outcome": "approved", **c.world.run_campaigns(value)}
    if step.action == "restart":
        report = c.restart_terminal()
        return {"flow": "restart", "outcome": "approved", "recovered": len(report["actions"])}
    if step.action == "flow":
        method = getattr(engine, FLOWS[value][0])
        if value in ("sign_on", "echo"):
            rc = method()
            outcome = "approved" if rc == "00" else "failed" if rc is None else "declined"
            return {"flow": value, "response_code": rc, "outcome": outcome}
        if value == "refund":
            account = ACCOUNTS[params.get("account", "club_credit")]
            return method(params["amount"], params["rrn"], account)
        if "amount" in params:
            amount = params["amount"]
            if not isinstance(amount, int):
                raise StepFailed(f"amount {amount!r} is not a whole number of rials")
            if "coupon" in params:  # keyed in before the card (docs/protocol.md 5.10)
                return method(amount, coupon=params["coupon"])
            return method(amount)
        return method()
    return None


def check(c, step, expect, result, screens, receipts, charges):
    """The failed expectations of one step, as sentences."""
    failed = []

    def want(key, expected, actual, extra=""):
        if not _same(expected, actual):
            failed.append(f"expected {key} {expected!r}, got {actual!r}{extra}")

    needs_result = {"outcome", "response_code", "reason", "message", "confirmed", "result"}
    if needs_result & set(expect) and result is None:
        return [f"expects {', '.join(sorted(needs_result & set(expect)))} but the step ran no flow"]
    why = ""
    if result is not None:
        why = (
            f" ({result.get('message') or 'no message'}; response code "
            f"{result.get('response_code')})"
        )
    for key in ("outcome", "response_code", "reason", "confirmed"):
        if key in expect:
            want(key, expect[key], result.get(key), why)
    if "message" in expect and str(expect["message"]) not in str(result.get("message")):
        failed.append(
            f"expected message containing {expect['message']!r}, got {result.get('message')!r}"
        )
    for key, expected in (expect.get("result") or {}).items():
        if key not in result:
            failed.append(
                f"expected result.{key} {expected!r}, but the result has no {key} "
                f"(keys: {', '.join(sorted(result))})"
            )
        else:
            want(f"result.{key}", expected, result[key])
    screen_text = "\n".join(_collapse(s) for s in screens).casefold()
    for text in expect.get("screen", ()):
        if text.casefold() not in screen_text:
            failed.append(  # noqa: PERF401
                f"expected a screen showing {text!r}; screens shown: "
                f"{' / '.join(_collapse(s) for s in screens) or 'none'}"
            )
    for text in expect.get("no_screen", ()):
        if text.casefold() in screen_text:
            failed.append(f"expected no screen showing {text!r}, but one did")  # noqa: PERF401
    receipt_text = "\n".join(_collapse(r) for r in receipts).casefold()
    for text in expect.get("receipt", ()):
        if text.casefold() not in receipt_text:
            failed.append(  # noqa: PERF401
                f"expected a receipt with {text!r}; "
                + (f"{len(receipts)} receipt(s) printed" if receipts else "no receipt printed")
            )
    if "receipts" in expect:
        want("receipts", expect["receipts"], len(receipts), " printed")
    if "pending" in expect:
        want("pending", expect["pending"], c.terminal.engine.pending(), " queued")
    if "bank_charges" in expect:
        want("bank_charges", expect["bank_charges"], charges)
    if c.world.club is None:  # an outside club: its database is not here
        c.world.unchecked.extend(key for key in CLUB_DATABASE_KEYS if key in expect)
        return failed
    for row in expect.get("balances", ()):
        pan = persona_number(row["card"]) or row["card"]
        merchant = row.get("merchant", c.merchant[0])
        found = c.world.balances(pan, merchant)
        if found is None:
            failed.append(f"expected balances of card {row['card']}, but the club has no such card")
            continue
        for kind in ("club_credit", "store_credit", "points"):
            if kind in row:
                want(f"{kind} of {row['card']}", row[kind], found[kind])
    sms = c.world.sms_texts() if expect.get("sms") else []
    for text in expect.get("sms", ()):
        if not any(text in t for t in sms):
            failed.append(f"expected an SMS with {text!r} in the club's outbox")  # noqa: PERF401
    if "ledger_ok" in expect:
        report = c.world.ledger()
        if report.ok != expect["ledger_ok"]:
            failed.append(
                f"expected ledger_ok {expect['ledger_ok']}, got {report.ok}: "
                + "; ".join(report.findings[:3])
            )
    return failed


def run_step(c, step, round_no):
    where = f"copy {c.index} ({c.terminal.terminal_id}), round {round_no}, {step.label}"
    start = time.perf_counter()
    try:
        value = substitute(copying.deepcopy(step.value), c.variables, step)
        params = substitute(dict(step.params), c.variables, step)
        expect = substitute(copying.deepcopy(step.expect), c.variables, step)
        bank = c.terminal.bank
        charges_before = len(bank.charges())
        bank.script.extend(step.bank)
        c.keypad.pins[:] = step.pins  # the PINs of this step only (none left from another)
        result = run_action(c, step, value, params)
        end = time.perf_counter()
        screens = c.terminal.screens.take()
        receipts = c.terminal.receipts()
        failed = check(
            c, step, expect, result, screens, receipts, len(bank.charges()) - charges_before
        )
        for key, name in step.capture.items():
            if result is None or result.get(key) is None:
                failed.append(f"capture: the result has no {key} to keep as {name}")
            else:
                c.variables[name] = result[key]
    except StepFailed as e:
        end = time.perf_counter()
        failed = [str(e)]
    except Exception as e:  # a crash of the engine or the runner is a failed step too
        end = time.perf_counter()
        failed = [f"raised {type(e).__name__}: {e}"]
    c.windows.append(((step.part, step.index), start, end))
    c.failures.extend(f"{where}: {f}" for f in failed)
    return not failed


def run_copy(c, steps, repeat):
    for round_no in range(1, repeat + 1):
        c.variables["round"] = round_no
        for step in steps:
            if not run_step(c, step, round_no):
                return False
    return True


@dataclass
class ScenarioResult:
    file: str
    name: str
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    timing: list = field(default_factory=list)  # rows: see timing_rows()
    notes: list = field(default_factory=list)  # what was not checked, and why

    @property
    def ok(self):
        return not self.failures


def timing_rows(world):
    """Per step: [label, runs, terminal ms mean, terminal ms max, server ms, messages].
    Server time: the club's handling of the messages that arrived during the step's runs
    (None: not measured, an outside club)."""
    sc = world.scenario
    steps = [*sc.steps, *sc.after]
    windows = {}
    for c in world.copies:
        for key, start, end in c.windows:
            windows.setdefault(key, []).append((start, end))
    messages = sorted(world.timer.messages) if world.timer is not None else None
    rows = []
    for step in steps:
        spans = windows.get((step.part, step.index), [])
        if not spans:
            continue
        took = [(e - s) * 1000 for s, e in spans]
        label = f"{'after ' if step.part == 'after' else ''}{step.index} {step.name}"
        if messages is None:
            rows.append([label, len(spans), sum(took) / len(took), max(took), None, None])
            continue
        server = [d for t, d in messages if any(s <= t < e for s, e in spans)]
        rows.append(
            [label, len(spans), sum(took) / len(took), max(took), sum(server) * 1000, len(server)]
        )
    return rows


def outside_notes(sc, world):
    """What a run against an outside club left unchecked or unapplied, in words."""
    notes = []
    if world.unchecked:
        kinds = ", ".join(sorted(set(world.unchecked)))
        notes.append(
            f"not checked: {len(world.unchecked)} expectation(s) that read the club's database "
            f"({kinds}): the outside club's database is not here"
        )
    if sc.club:
        notes.append(
            f"not applied: club settings {', '.join(sorted(sc.club))} (the outside club keeps "
            "its own)"
        )
    return notes


def run_scenario(sc, terminal_factory=None, club=None, keep=None):
    """Run one scenario; club=(host, port): against that outside club (keep: the folder where
    the terminals' files are kept between scenarios)."""
    started = time.perf_counter()
    result = ScenarioResult(sc.file, sc.name)
    try:
        with World(sc, terminal_factory, club, keep) as world:
            copies = world.copies
            if len(copies) == 1:
                run_copy(copies[0], sc.steps, sc.repeat)
            else:
                threads = [
                    threading.Thread(
                        target=run_copy,
                        args=(c, sc.steps, sc.repeat),
                        name=f"scenario-copy-{c.index}",
                    )
                    for c in copies
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            if sc.after and not any(c.failures for c in copies):
                run_copy(copies[0], sc.after, 1)
            for c in copies:
                result.failures.extend(f"{sc.file}: {sc.name}: {f}" for f in c.failures)
            result.timing = timing_rows(world)
            if club is not None:
                result.notes = outside_notes(sc, world)
    except Exception as e:
        result.failures.append(f"{sc.file}: {sc.name}: could not run: {type(e).__name__}: {e}")
    result.seconds = time.perf_counter() - started
    return result


def format_timing(rows):
    lines = [
        f"    {'step':<34} {'runs':>4} {'terminal ms':>12} {'max':>8} {'server ms':>10} {'msgs':>5}"
    ]
    for label, runs, mean, top, server, count in rows:
        if server is None:  # an outside club: its time is not measured here
            lines.append(
                f"    {label[:34]:<34} {runs:>4} {mean:>12.1f} {top:>8.1f} {'-':>10} {'-':>5}"
            )
            continue
        lines.append(
            f"    {label[:34]:<34} {runs:>4} {mean:>12.1f} {top:>8.1f} "
            f"{server / runs:>10.1f} {count:>5}"
        )
    return lines


def load_all(paths):
    """Every scenario of the files (directories expanded); ScenarioError on the first bad one."""
    files = expand_paths(paths)
    if not files:
        raise ScenarioError("no scenario files given")
    scenarios = []
    for f in files:
        scenarios.extend(load_file(f))
    return scenarios


def run_files(paths, out=print, timing=True, terminal_factory=None, club=None, data_dir=None):
    """Run the scenarios of these files; the exit status: 0 all passed, 1 a failure, 2 a file
    that is not a valid scenario (nothing runs then). terminal_factory(copy) -> terminal
    replaces the emulated terminal (simulator/fil.firmware_factory: the flashed device).
    club=(host, port): every scenario against that outside club instead of a fresh seeded
    one; data_dir: where the terminals' files are kept for it, one terminal per number
    (default: a folder that lasts for this call only)."""
    try:
        scenarios = load_all(paths)
    except ScenarioError as e:
        out(f"scenario error: {e}")
        return 2
    keep = None
    if club is not None:
        keep = data_dir or tempfile.mkdtemp(prefix="vafa-scenario-terminals-")
        out(f"club: {club[0]}:{club[1]} (outside club: scenarios run against it as it is; "
            f"terminal files kept in {keep})")  # fmt: skip
    results = []
    unchecked = 0
    for sc in scenarios:
        r = run_scenario(sc, terminal_factory, club, keep)
        results.append(r)
        shape = f"{len(sc.steps) + len(sc.after)} steps"
        if sc.concurrency > 1 or sc.repeat > 1:
            shape += f", {sc.concurrency} terminal(s) x {sc.repeat} round(s)"
        out(f"{'PASS' if r.ok else 'FAIL'} {sc.file}: {sc.name} ({shape}, {r.seconds:.2f} s)")
        for f in r.failures:
            out("  " + f)
        for note in r.notes:
            out("  " + note)
        unchecked += bool(r.notes)
        if timing and r.timing:
            for line in format_timing(r.timing):
                out(line)
    failed = [r for r in results if not r.ok]
    total = sum(r.seconds for r in results)
    out(f"scenarios: {len(results) - len(failed)} passed, {len(failed)} failed ({total:.1f} s)")
    if unchecked:
        out(f"{unchecked} scenario(s) had expectations not checked or settings not applied "
            "against the outside club (see their notes)")  # fmt: skip
    return 1 if failed else 0
