"""Where the club server's database work runs: one SQLite connection, group commit, and the
WAL checkpoints in a thread of their own.

Group commit (the default, database work in the event loop): the first request of a loop pass
opens a write transaction (BEGIN IMMEDIATE) and schedules its COMMIT for the next pass; every
request handled before then runs inside that transaction, each in a savepoint of its own (an
exception undoes that request only), and waits for the COMMIT before its answer is sealed and
sent. Requests that arrive together therefore commit together: one COMMIT (one WAL append) for
the batch instead of one per request, and no answer leaves before its transaction is durable.
When the COMMIT fails, every request of the batch fails (the server answers 96) and nothing of
the batch is kept. Requests are still handled one after the other in the loop, so requests for
one balance stay strictly sequential.

Checkpoints: the server's connection never checkpoints (wal_autocheckpoint=0), so no request
ever waits for the checkpoint's writes and fsyncs; a Checkpointer thread with its own
connection folds the WAL into the database file every `checkpoint_interval` seconds (PASSIVE:
it never waits for, nor blocks, the writer). sqlite3 releases the GIL while SQLite works, so
the fsyncs happen beside the event loop, not in it.

With threaded=True (db_thread=True on the server) each call runs in a dedicated database thread
in a transaction of its own, as before group commit (measured slower, docs/performance.md).
"""

import asyncio
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from simulator.club_server.server_storage import ServerStorage

log = logging.getLogger("vafa.club_server")

CHECKPOINT_INTERVAL = 0.25  # seconds between the checkpointer's passes
MAX_BATCH = 512  # requests in one group commit at most (then it commits at once)


class Database:
    """One Storage for the server. `request(fn, *args)` runs fn(storage, *args) as part of the
    current group commit and returns once it is committed; `call(fn, *args)` runs it in a
    transaction of its own (admin work, the sweep, tests), after the current batch commits;
    `read(fn, *args)` runs a read as it is (inside the open batch, if any)."""

    def __init__(
        self,
        path,
        threaded=False,
        *,
        checkpoint_interval=CHECKPOINT_INTERVAL,
        max_batch=MAX_BATCH,
    ):
        self.path = str(path)
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="club-db") if threaded else None
        )
        self.storage = None
        self.max_batch = max_batch
        self._batch = None
        self._checkpointer = Checkpointer(self.path, checkpoint_interval)
        self.stats = {"commits": 0, "committed_requests": 0, "failed_commits": 0}

    async def open(self):
        # a short busy timeout: in the event loop a wait for an admin command's lock is a
        # wait for every terminal (the request is answered 96 when it runs out)
        autocheckpoint = self._checkpointer.interval is None  # else the thread does it
        self.storage = await self._run(ServerStorage, self.path, "NORMAL", 2.0, autocheckpoint)
        self._checkpointer.start()

    async def _run(self, fn, *args):
        if self._executor is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def request(self, fn, *args):
        """fn(storage, *args) in the current batch; its result once the batch is committed.
        An exception of fn undoes fn's work only and is raised here at once; a failed COMMIT
        is raised to every request of the batch."""
        if self._executor is not None:
            return await self._run(fn, self.storage, *args)  # fn opens its own transaction
        storage = self.storage
        batch = self._batch
        if batch is None:
            storage.begin()
            loop = asyncio.get_running_loop()
            batch = self._batch = _Batch(loop.create_future())
            loop.call_soon(self._commit, batch)
        result = storage.in_savepoint(fn, *args)
        batch.size += 1
        if batch.size >= self.max_batch:
            self._commit(batch)
        await asyncio.shield(batch.done)
        return result

    def _commit(self, batch):
        if batch is not self._batch:
            return  # committed already (full batch, or flushed before other work)
        self._batch = None
        try:
            self.storage.commit()
        except Exception as e:
            self.stats["failed_commits"] += 1
            log.error("group commit of %d request(s) failed: %s", batch.size, e)
            self.storage.rollback()
            batch.done.set_exception(e)
            return
        self.stats["commits"] += 1
        self.stats["committed_requests"] += batch.size
        batch.done.set_result(None)

    def flush(self):
        """Commit the open batch now (before work that needs its own transaction)."""
        if self._batch is not None:
            self._commit(self._batch)

    async def call(self, fn, *args):
        """fn(storage, *args) on its own, after the open batch is committed. What it changes
        may be the operator's (terminals, merchants, programs, settings): the storage's
        cache of those rows is dropped after it."""
        self.flush()
        return await self._run(_then_forget_static, fn, self.storage, *args)

    async def read(self, fn, *args):
        """fn(storage, *args) as it is: a read, inside the open batch if there is one."""
        return await self._run(fn, self.storage, *args)

    async def close(self):
        self.flush()
        self._checkpointer.stop()
        if self.storage is not None:
            storage, self.storage = self.storage, None

            def finish():
                try:
                    storage.checkpoint()
                finally:
                    storage.close()

            await self._run(finish)
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def _then_forget_static(fn, storage, *args):
    """fn(storage, *args), then the storage's cached rows dropped, in the thread that ran fn
    (the database thread, when there is one)."""
    try:
        return fn(storage, *args)
    finally:
        storage.forget_static()


class _Batch:
    __slots__ = ("done", "size")

    def __init__(self, done):
        self.done = done
        self.size = 0
        # a batch whose requests were all cancelled must not log "exception never retrieved"
        done.add_done_callback(_retrieve)


def _retrieve(future):
    if not future.cancelled():
        future.exception()


class Checkpointer:
    """A thread that runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection every
    `interval` seconds until stop()."""

    def __init__(self, path, interval):
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self.passes = 0

    def start(self):
        if self.interval is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="club-checkpoint", daemon=True)
        self._thread.start()

    def stop(self):
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(30)
        self._thread = None

    def _main(self):
        try:
            conn = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as e:
            log.error("checkpointer cannot open %s: %s", self.path, e)
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.passes += 1
                except sqlite3.Error as e:  # busy with another checkpoint, disk trouble
                    log.warning("WAL checkpoint failed: %s", e)
        finally:
            conn.close()
