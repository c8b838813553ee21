"""Group commit against a SIGKILL: the club server (its own process) is killed the moment the
last of many concurrent terminals has its answer; every approval a terminal received must be
in the database afterwards, with its hold (docs/protocol.md: no answer before the work is
durable). With group commit the answers of one batch are sent only after its COMMIT; a commit
left for later (a timer, an idle moment) with the answers already out fails here, and so would
committed work lost with the WAL that no checkpoint has folded in yet. (That an answer waits
for its COMMIT at all is test_group_commit.py's.)"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from simulator.club_server.seed import CARD_A, CARD_B, add_load_terminals, seed_demo
from simulator.club_server.storage import Storage
from tests.club_server.client import Terminal

ROOT = Path(__file__).resolve().parents[2]
SERVE = (
    "import asyncio, sys\n"
    "from simulator.club_server.server import ClubServer\n"
    "async def main():\n"
    "    server = ClubServer(sys.argv[1])\n"
    "    await server.start()\n"
    "    print(server.port, flush=True)\n"
    "    await asyncio.Event().wait()\n"
    "asyncio.run(main())\n"
)
TERMINALS = 12
SALES = 6  # per terminal, back to back


def test_every_approval_a_terminal_got_survives_a_sigkill(tmp_path):
    db = str(tmp_path / "club.db")
    seed_demo(db)
    identities = add_load_terminals(db, TERMINALS)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, db], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())
        approved, errors = [], []
        lock = threading.Lock()

        def sell(terminal_id, ikid, card):
            try:
                t = Terminal(port, terminal_id, "VAFA00000000001", ikid).connect()
                for _ in range(SALES):
                    _, r = t.authorize("000000", 100_000, card)
                    with lock:
                        if r.code == "00":
                            approved.append(r.rrn)
                        else:
                            errors.append(r.code)
                t.close()
            except Exception as e:  # reported below, with the others' results
                with lock:
                    errors.append(repr(e))

        threads = [
            threading.Thread(target=sell, args=(tid, ikid, (CARD_A, CARD_B)[i % 2]))
            for i, (tid, ikid) in enumerate(identities)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        os.kill(server.pid, signal.SIGKILL)  # no clean stop: no checkpoint, no close
        server.wait(10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert errors == []
    assert len(approved) == TERMINALS * SALES
    store = Storage(db)
    try:
        for rrn in approved:
            txn = store.txn_by_rrn(rrn)
            assert txn is not None and txn["state"] == "approved", rrn
        answered = store._one("SELECT COUNT(*) AS n FROM requests WHERE mti_class = '010'")["n"]
    finally:
        store.close()
    assert answered >= len(approved)
