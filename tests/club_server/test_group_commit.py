"""Group commit, checkpoints off the request path and the server's cache of the operator's rows
(simulator/club_server/database.py, server_storage.py)."""

import asyncio
import sqlite3
import threading
import time

from simulator.club_server.database import Database
from simulator.club_server.seed import CARD_A
from simulator.club_server.server import run_in_thread
from simulator.club_server.storage import Storage
from tests.club_server.client import Terminal


def _outside(db_path, sql, args=()):
    """What another connection (another process) sees: committed data only."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _put(key):
    def fn(store):
        store.put_setting(key, "1")
        return key

    return fn


def _settings_like(db_path, prefix):
    rows = _outside(db_path, "SELECT key FROM settings WHERE key LIKE ?", (prefix + "%",))
    return sorted(r[0] for r in rows)


async def _with_database(db_path, body, **kwargs):
    db = Database(db_path, **kwargs)
    await db.open()
    try:
        return await body(db)
    finally:
        await db.close()


def test_requests_that_arrive_together_commit_together(db_path):
    async def body(db):
        tasks = [asyncio.create_task(db.request(_put(f"gc.{i}"))) for i in range(20)]
        await asyncio.sleep(0)  # every request has run its work: none is committed yet
        assert _settings_like(db_path, "gc.") == []
        assert not any(t.done() for t in tasks)
        results = await asyncio.gather(*tasks)
        # answered only once another connection sees the work: it is committed
        assert _settings_like(db_path, "gc.") == sorted(f"gc.{i}" for i in range(20))
        return results, dict(db.stats)

    results, stats = asyncio.run(_with_database(db_path, body))
    assert results == [f"gc.{i}" for i in range(20)]
    assert stats["commits"] == 1 and stats["committed_requests"] == 20


def test_a_full_batch_commits_at_once(db_path):
    async def body(db):
        await asyncio.gather(*(db.request(_put(f"full.{i}")) for i in range(10)))
        return dict(db.stats)

    stats = asyncio.run(_with_database(db_path, body, max_batch=4))
    assert stats["commits"] == 3 and stats["committed_requests"] == 10
    assert len(_settings_like(db_path, "full.")) == 10


def test_a_failing_request_undoes_its_own_work_only(db_path):
    def broken(store):
        store.put_setting("gc.broken", "1")
        raise RuntimeError("simulated bug")

    async def body(db):
        good = asyncio.create_task(db.request(_put("gc.good")))
        bad = asyncio.create_task(db.request(broken))
        later = asyncio.create_task(db.request(_put("gc.later")))
        return await asyncio.gather(good, bad, later, return_exceptions=True)

    good, bad, later = asyncio.run(_with_database(db_path, body))
    assert isinstance(bad, RuntimeError)
    assert (good, later) == ("gc.good", "gc.later")
    assert _settings_like(db_path, "gc.") == ["gc.good", "gc.later"]


def test_a_failed_commit_fails_every_request_of_the_batch_and_keeps_nothing(db_path):
    async def body(db):
        storage = db.storage
        real_commit = storage.commit

        def failing_commit():
            raise sqlite3.OperationalError("disk I/O error (simulated)")

        storage.commit = failing_commit
        results = await asyncio.gather(
            *(db.request(_put(f"lost.{i}")) for i in range(5)), return_exceptions=True
        )
        storage.commit = real_commit
        after = await db.request(_put("kept"))  # the next batch works
        return results, after, dict(db.stats)

    results, after, stats = asyncio.run(_with_database(db_path, body))
    assert all(isinstance(r, sqlite3.OperationalError) for r in results)
    assert _settings_like(db_path, "lost.") == []
    assert after == "kept" and _settings_like(db_path, "kept") == ["kept"]
    assert stats["failed_commits"] == 1


def test_other_work_commits_the_open_batch_first(db_path):
    async def body(db):
        pending = asyncio.create_task(db.request(_put("gc.first")))
        await asyncio.sleep(0)
        seen = await db.call(lambda store: _settings_like(db_path, "gc."))
        await pending
        return seen

    assert asyncio.run(_with_database(db_path, body)) == ["gc.first"]


def test_no_checkpoint_inside_a_request_the_thread_does_them(db_path):
    async def body(db):
        autocheckpoint = db.storage._one("PRAGMA wal_autocheckpoint")["wal_autocheckpoint"]
        for i in range(30):
            await db.request(_put(f"wal.{i}"))
        deadline = time.monotonic() + 5
        while db._checkpointer.passes < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return autocheckpoint, db._checkpointer.passes

    autocheckpoint, passes = asyncio.run(_with_database(db_path, body, checkpoint_interval=0.05))
    assert autocheckpoint == 0
    assert passes >= 2
    # every frame of the WAL was folded into the database file (log == checkpointed)
    busy, log, checkpointed = _outside(db_path, "PRAGMA wal_checkpoint(PASSIVE)")[0]
    assert busy == 0 and log == checkpointed


def test_the_checkpointer_thread_stops_with_the_database(db_path):
    asyncio.run(_with_database(db_path, lambda db: asyncio.sleep(0.05), checkpoint_interval=0.01))
    assert not any(t.name == "club-checkpoint" for t in threading.enumerate())


# -- the cache of the operator's rows, through the server --------------------------------------


def test_a_terminal_blocked_by_another_process_is_refused_at_once(db_path):
    with run_in_thread(db_path) as server:
        t = Terminal(server.port).connect()
        assert t.authorize("000000", 100_000, CARD_A)[1].code == "00"
        other = Storage(db_path)  # the operator's command: its own connection
        with other.transaction():
            other._run("UPDATE terminals SET status = 'blocked' WHERE terminal_id = 'VT000001'")
        other.close()
        assert t.authorize("000000", 100_000, CARD_A)[1].code == "03"
        other = Storage(db_path)
        with other.transaction():
            other._run("UPDATE terminals SET status = 'active' WHERE terminal_id = 'VT000001'")
        other.close()
        assert t.authorize("000000", 100_000, CARD_A)[1].code == "00"


def test_a_program_changed_by_another_process_prices_the_next_purchase(db_path):
    with run_in_thread(db_path) as server:
        t = Terminal(server.port).connect()
        _, first = t.authorize("000000", 1_000_000, CARD_A)
        other = Storage(db_path)
        program_id = other.merchant("VAFA00000000001")["program_id"]
        rate = other.program(program_id)["rials_per_point"]
        with other.transaction():
            other._run(
                "UPDATE programs SET rials_per_point = ? WHERE id = ?", (rate * 2, program_id)
            )
        other.close()
        _, second = t.authorize("000000", 1_000_000, CARD_A)
    assert first.code == second.code == "00"
    assert int(second.tags[1]) == int(first.tags[1]) // 2


def _counter_in_a_transaction(store, ikid="5641464100000001"):
    store.begin()
    try:
        return store.terminal_by_ikid(ikid)["last_counter"]
    finally:
        store.commit()


def test_a_rolled_back_request_does_not_leave_its_counter_in_the_cache(db_path, monkeypatch):
    """The KSN counter is recorded inside the request's savepoint; when the request fails as a
    whole, the counter goes back, and so does the cached terminal row."""
    from simulator.club_server import host

    with run_in_thread(db_path) as server:
        t = Terminal(server.port).connect()
        assert t.authorize("000000", 100_000, CARD_A)[1].code == "00"
        before = server.call(_counter_in_a_transaction)

        def broken(*args):
            raise RuntimeError("simulated failure after the counter was recorded")

        monkeypatch.setattr(host, "dump_response", broken)  # after the handler
        assert t.authorize("000000", 100_000, CARD_A)[1].code == "96"
        monkeypatch.undo()
        assert server.call(_counter_in_a_transaction) == before


def test_within_a_request_a_card_is_read_once_until_it_is_written(db_path):
    from simulator.club_server.server_storage import ServerStorage

    store = ServerStorage(db_path)
    statements = []
    store._conn.set_trace_callback(statements.append)

    def request(s):
        first, again = s.card(1), s.card(1)
        s.update_card(1, status="blocked")
        return first, again, s.card(1)

    try:
        store.begin()
        first, again, after = store.in_savepoint(request)
        store.rollback()
        outside = [store.card(1), store.card(1)]  # no request: every read is a read
    finally:
        store.close()
    reads = [s for s in statements if s.startswith("SELECT * FROM cards WHERE id")]
    assert first["status"] != "blocked" and again is first
    assert after["status"] == "blocked"
    assert len(reads) == 2 + 2
    assert outside[0]["status"] == first["status"]  # the rollback undid the write


def test_within_a_request_an_account_is_read_once_and_kept_as_stored(db_path):
    """server_storage.py: an account row read or changed in a request is not read again; the
    row remembered is the row as stored (change_account takes it from UPDATE ... RETURNING)."""
    from simulator.club_server.server_storage import ServerStorage

    store = ServerStorage(db_path)
    statements = []
    store._conn.set_trace_callback(statements.append)

    def request(s):
        first = s.open_account(1, "club", "")
        s.change_account(first["id"], balance=500, held=200)
        by_id, by_card = s.account_by_id(first["id"]), s.account(1, "club", "")
        stored = Storage.account_by_id(s, first["id"])  # a SELECT, past the memory
        return first, by_id, by_card, stored

    try:
        store.begin()
        first, by_id, by_card, stored = store.in_savepoint(request)
        store.rollback()
        after = store.account_by_id(first["id"])  # no request: a read
    finally:
        store.close()
    assert by_id == stored and by_card is by_id
    assert (by_id["balance"], by_id["held"]) == (first["balance"] + 500, first["held"] + 200)
    assert after == first  # the rollback undid the change
    reads = [s for s in statements if s.startswith("SELECT * FROM accounts")]
    assert len(reads) == 1 + 1 + 1  # open_account, the SELECT past the memory, after


def test_a_new_transaction_has_its_rrn_and_approval_code_from_its_id(db_path):
    store = Storage(db_path)
    try:
        with store.transaction():
            rows = [
                store.add_txn(
                    terminal_id="VT000001",
                    merchant_id="M",
                    proc="000000",
                    amount=10 * i,
                    state="approved",
                    stan=f"{i:06d}",
                    f7="1205000000",
                    created_at=1.0,
                )
                for i in (1, 2)
            ]
            stored = [store.txn(r["id"]) for r in rows]
    finally:
        store.close()
    assert rows == stored
    assert rows[1]["id"] == rows[0]["id"] + 1
    for r in rows:
        assert r["rrn"] == f"{r['id']:012d}" and r["auth_code"] == f"{r['id'] % 1000000:06d}"
        assert r["amount"] in (10, 20) and r["state"] == "approved"
