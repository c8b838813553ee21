"""The payout job: pays the stores what is due to them, in batches, idempotently and safely
after a crash (docs/club_server.md "Settlement"). `vafa club-server settle` runs it.

One run:

1. **batch** (one transaction): when an earlier run left a batch `paying`, that batch is
   finished first and no new one is formed. Otherwise every settlement row `owed` whose due
   time has come (`due_at <= as_of`) is put in a new batch with its idempotency key
   (settlement.batch_key), one payout per store (the store's net: positive, the club pays;
   negative, the store owes the club), rows `paying`. settlement_payouts' primary key is the
   settlement's id: a row can never be in two payouts.
2. **file**: the batch's payout file, `<batch key>.csv` in the payout folder, written to a
   temporary name, synced and renamed over (atomic). Its content is derived from the database
   only, so a re-run after a crash writes the same bytes under the same key; the receiving
   bank refuses a key it has seen (the reference of each line is unique too).
3. **paid**: each store's payout and its rows become `paid` (one transaction per store), then
   the batch.

A kill at any point leaves either nothing (before 1 commits), or a `paying` batch that the
next run completes with the same key and the same file. `VAFA_SETTLE_PAUSE=batch|file|store`
makes a run stop after that step (after the first store, for `store`), print
`paused at STEP` and wait to be killed: the crash test's hook.
"""

import os
import sys
import time

from simulator.club_server import settlement
from simulator.club_server import settlement_store as sql

PAUSE_ENV = "VAFA_SETTLE_PAUSE"
PAUSE_STEPS = ("batch", "file", "store")


def _pause(step):
    if os.environ.get(PAUSE_ENV) == step:
        print(f"paused at {step}", flush=True)
        while True:  # the crash test kills the process here
            time.sleep(60)


class _Txn:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection (ROLLBACK on an exception)."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, value, tb):
        self.conn.execute("ROLLBACK" if kind else "COMMIT")
        return False


def form_batch(conn, as_of, now):
    """Step 1: the unfinished batch, or a new one of what is due; None when nothing is."""
    with _Txn(conn):
        batch = sql.open_batch(conn)
        if batch is not None:
            return batch, True
        rows = sql.due_settlements(conn, as_of)
        if not rows:
            return None, False
        prefix = settlement.batch_key_prefix(now)  # the day the batch is formed
        key = settlement.batch_key(now, sql.batches_with_prefix(conn, prefix) + 1)
        batch_id = sql.add_batch(conn, key, as_of, now)
        by_store = {}
        for row in rows:
            by_store.setdefault(row["merchant_id"], []).append(row)
        for merchant_id, items in by_store.items():
            amount = sum(r["amount"] for r in items)
            payout_id = sql.add_payout(
                conn, batch_id, merchant_id, amount, len(items), f"{key}-{merchant_id}"
            )
            sql.assign(conn, payout_id, [r["id"] for r in items])
        return sql.batch_by_key(conn, key), False


def write_file(folder, batch, payouts):
    """Step 2: the batch's payout file, atomically; its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{batch['batch_key']}.csv")
    data = settlement.payout_lines(batch["batch_key"], payouts).encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if hasattr(os, "O_DIRECTORY"):  # the rename itself durable
        fd = os.open(folder, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def run(conn, folder, as_of=None, clock=time.time):
    """One run of the payout job over `conn` (an autocommit sqlite3 connection with dict
    rows). Returns {"batch": key or None, "resumed", "payouts": [...], "file": path}."""
    now = clock()
    as_of = now if as_of is None else as_of
    batch, resumed = form_batch(conn, as_of, now)
    if batch is None:
        return {"batch": None, "resumed": False, "payouts": [], "file": None}
    _pause("batch")
    payouts = sql.payouts_of_batch(conn, batch["id"])
    path = write_file(folder, batch, payouts)
    _pause("file")
    for number, payout in enumerate(payouts):
        if payout["status"] == "paying":
            with _Txn(conn):
                sql.mark_payout_paid(conn, payout["id"], clock())
        if number == 0:
            _pause("store")
    with _Txn(conn):
        sql.finish_batch(conn, batch["id"], path, clock())
    return {
        "batch": batch["batch_key"],
        "resumed": resumed,
        "payouts": sql.payouts_of_batch(conn, batch["id"]),
        "file": path,
    }


def default_folder(db_path):
    """Where payout files go unless told: `<database>.payouts/` beside the database."""
    return f"{db_path}.payouts"


if __name__ == "__main__":  # pragma: no cover - `vafa club-server settle` is the entry point
    sys.exit("run it as: vafa club-server settle --db PATH")
