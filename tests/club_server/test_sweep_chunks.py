"""The housekeeping sweep in bounded chunks (docs/performance.md "Reports and the sweep at
213,000 transactions"): one call touches at most a chunk of each kind and says whether more is
left; the server calls again, with its loop free in between, until nothing is."""

import time

from simulator.club_server import phase_two
from simulator.club_server.program import DEFAULT_SETTINGS
from simulator.club_server.server import run_in_thread
from simulator.club_server.storage import Storage

DAY = 86400.0
OLD = 250  # request records past the retention


def _old_requests(db):
    store = Storage(db)
    long_ago = time.time() - 30 * DAY
    with store.transaction():
        for n in range(OLD):
            store.save_request("VTOLD001", "010", f"{n:06d}", "1204120000", b"h", "{}", None,
                               long_ago + n)  # fmt: skip
    return store


def _count(store):
    return store.table_counts()["requests"]


def test_one_call_forgets_one_chunk_and_says_more(db_path):
    store = _old_requests(db_path)
    before = _count(store)
    settings = {**DEFAULT_SETTINGS, **store.settings()}
    with store.transaction():
        result = phase_two.sweep(store, time.time(), settings, 7 * DAY, batch=100)
    assert result["more"] is True
    assert before - _count(store) == 100  # the oldest 100, no more
    left = store._conn.execute(
        "SELECT MIN(stan) AS s FROM requests WHERE terminal_id = 'VTOLD001'"
    ).fetchone()
    assert left["s"] == "000100"
    for _ in range(2):
        with store.transaction():
            result = phase_two.sweep(store, time.time(), settings, 7 * DAY, batch=100)
    assert result["more"] is False and before - _count(store) == OLD
    store.close()


def test_the_server_sweeps_every_chunk(db_path):
    _old_requests(db_path).close()
    with run_in_thread(db_path) as server:
        server.sweep()
        left = server.call(
            lambda s: s._conn.execute(
                "SELECT COUNT(*) AS n FROM requests WHERE terminal_id = 'VTOLD001'"
            ).fetchone()["n"]
        )
    assert left == 0
