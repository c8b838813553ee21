"""Shared by the end-to-end crash and network-fault tests: a "world" (a club database, an agent's
storage folder and the bank's journal, side by side in one folder), the agent process, and the
reads the assertions need (accounts, transactions, holds, bank charges, journal records).
"""

import binascii
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from agent.journal import decode_records
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.club_server.server import run_in_thread

REPO = Path(__file__).resolve().parents[2]
HOLD_WINDOW = 60.0  # longer than any test takes: a hold must be closed by the terminal itself
LEDGER_GRACE = 120.0
# Every card number the tests use: none may appear in clear in the agent's files.
PANS = (seed.CARD_A, seed.CARD_B, seed.CARD_C, seed.CARD_LOW, seed.BANK_CARD_A)


def pan_forms(pans=PANS):
    """The byte strings that would give a card number away: ASCII, and hex of the ASCII."""
    forms = []
    for pan in pans:
        raw = pan.encode()
        hexed = binascii.hexlify(raw)
        forms.extend((raw, hexed, hexed.upper()))
    return forms


def scan_for_pans(where, pans=PANS):
    """[(file, form)] for every card number found in clear in a file, or any file under a
    folder."""
    found = []
    forms = pan_forms(pans)
    where = Path(where)
    paths = [where] if where.is_file() else sorted(where.rglob("*"))
    for path in paths:
        if path.is_file():
            data = path.read_bytes()
            found.extend((str(path), form) for form in forms if form in data)
    return found


class World:
    """One club database, one terminal's storage and the bank's journal in `root`."""

    def __init__(self, root):
        self.root = Path(root)
        self.db = self.root / "club.db"
        self.agent = self.root / "agent"
        self.bank_journal = self.root / "bank.jsonl"

    @classmethod
    def seeded(cls, root):
        world = cls(root)
        world.root.mkdir(parents=True, exist_ok=True)
        seed.seed_demo(str(world.db))
        return world

    def copy(self, root):
        """A copy of this world (taken while no server runs on it)."""
        shutil.copytree(self.root, root)
        return World(root)

    def server(self, **kwargs):
        kwargs.setdefault("hold_window", HOLD_WINDOW)
        return run_in_thread(str(self.db), **kwargs)

    # -- the club's side -----------------------------------------------------------------

    def query(self, sql, *args):
        conn = sqlite3.connect(str(self.db))
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, args)]
        finally:
            conn.close()

    def accounts(self, pan):
        """{(kind, merchant): (balance, held)} of a club card's accounts."""
        rows = self.query(
            "SELECT a.kind, a.merchant_id, a.balance, a.held FROM accounts a "
            "JOIN cards c ON c.id = a.card_id WHERE c.last4 = ? AND c.kind = 'club'",
            pan[-4:],
        )
        return {(r["kind"], r["merchant_id"]): (r["balance"], r["held"]) for r in rows}

    def card_id(self, pan):
        rows = self.query("SELECT id FROM cards WHERE last4 = ? AND kind = 'club'", pan[-4:])
        return rows[0]["id"]

    def txns(self, after_id=0):
        return self.query("SELECT * FROM txns WHERE id > ? ORDER BY id", after_id)

    def max_txn_id(self):
        return self.query("SELECT COALESCE(MAX(id), 0) AS n FROM txns")[0]["n"]

    def open_holds(self):
        return self.query("SELECT * FROM holds WHERE state = 'open'")

    def open_approvals(self):
        return self.query("SELECT rrn, proc, stan FROM txns WHERE state = 'approved'")

    def ledger_findings(self):
        """Findings of the club's ledger check now, and once the hold window has passed."""
        now = time.time()
        findings = list(ledger_check(str(self.db), now=now).findings)
        later = ledger_check(str(self.db), now=now + HOLD_WINDOW + LEDGER_GRACE + 1)
        findings.extend("after the hold window: " + f for f in later.findings)
        return findings

    # -- the bank's and the terminal's side --------------------------------------------------

    def bank_records(self):
        if not self.bank_journal.exists():
            return []
        lines = self.bank_journal.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def charges(self):
        return [r for r in self.bank_records() if r["charged"]]

    def journal(self):
        """The agent's journal records as they are on disk (a torn tail left out)."""
        path = self.agent / "journal"
        data = path.read_bytes() if path.exists() else b""
        return decode_records(data)[0]

    def last_stan(self):
        path = self.agent / "stan"
        return int(path.read_bytes()) if path.exists() else 0


class AgentRun:
    """One finished agent process: returncode, its last JSON line, stdout and stderr."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.result = None
        for line in reversed(stdout.splitlines()):
            if line.startswith("{"):
                self.result = json.loads(line)
                break

    def __repr__(self):
        return f"AgentRun(rc={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def agent_command(mode, world, port, spec=None, compact_bytes=None):
    config = {
        "root": str(world.agent),
        "port": port,
        "bank_journal": str(world.bank_journal),
        "spec": spec or {},
    }
    if compact_bytes is not None:
        config["compact_bytes"] = compact_bytes
    return [sys.executable, "-m", "simulator.crashlab.agent_main", mode, json.dumps(config)]


def agent_env(crash_at=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("VAFA_CRASH_AT", None)
    if crash_at:
        env["VAFA_CRASH_AT"] = crash_at
    return env


def run_agent(mode, world, port, spec=None, crash_at=None, compact_bytes=None, timeout=60):
    proc = subprocess.run(
        agent_command(mode, world, port, spec, compact_bytes),
        cwd=str(REPO),
        env=agent_env(crash_at),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return AgentRun(proc.returncode, proc.stdout, proc.stderr)


def run_agent_killed_from_outside(world, port, spec, delay_s, compact_bytes=None, timeout=60):
    """Start a flow, wait until it is armed, SIGKILL it delay_s later (if still running)."""
    proc = subprocess.Popen(
        agent_command("flow", world, port, spec, compact_bytes),
        cwd=str(REPO),
        env=agent_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stdout.readline()  # "ARMED": the flow starts now
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)  # nothing happens when the flow has ended already
    stdout, stderr = proc.communicate(timeout=timeout)
    return AgentRun(proc.returncode, first + stdout, stderr)
