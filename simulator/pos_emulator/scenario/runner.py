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

Where the parts live: world.py (World, Copy: the club and the terminals),
card_reader.py (the card steps' cards and ScenarioReader), step_actions.py (what each step
kind does), expectations.py (the checks), variables.py (${name} substitution),
step_failed.py (StepFailed), timing.py (the timing report). Here: running the steps of the
copies, run_scenario, load_all and run_files.
"""

import copy as copying
import tempfile
import threading
import time
from dataclasses import dataclass, field

from simulator.pos_emulator.scenario.card_reader import (
    BANK_PREFIX,
    ENTRY_CODES,
    ScenarioReader,
    card_entry,
    persona_number,
)
from simulator.pos_emulator.scenario.expectations import CLUB_DATABASE_KEYS, check
from simulator.pos_emulator.scenario.schema import ScenarioError, expand_paths, load_file
from simulator.pos_emulator.scenario.step_actions import run_action
from simulator.pos_emulator.scenario.step_failed import StepFailed
from simulator.pos_emulator.scenario.timing import format_timing, timing_rows
from simulator.pos_emulator.scenario.variables import birthday_today, substitute
from simulator.pos_emulator.scenario.world import Copy, ServerTimer, World, template_db

__all__ = [  # the names defined here before the split stay importable from here
    "BANK_PREFIX",
    "CLUB_DATABASE_KEYS",
    "ENTRY_CODES",
    "Copy",
    "ScenarioReader",
    "ScenarioResult",
    "ServerTimer",
    "StepFailed",
    "World",
    "birthday_today",
    "card_entry",
    "check",
    "format_timing",
    "load_all",
    "outside_notes",
    "persona_number",
    "run_action",
    "run_copy",
    "run_files",
    "run_scenario",
    "run_step",
    "substitute",
    "template_db",
    "timing_rows",
]


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
