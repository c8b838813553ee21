"""The console's aiohttp application, and three ways to run it: `serve_console` (the
`vafa club-server console` command), `start_console` (inside a running asyncio loop: the club
server's own, for `vafa club-server --console PORT`) and `run_console_in_thread` (tests).

Every database read runs in the console's one reader thread on a read-only connection
(queries.open_readonly), one read transaction per page so a page is one consistent snapshot:
the loop it shares with the club server is never blocked by a query, and the club's writes
never wait for the console (SQLite WAL: readers do not block the writer).

Routes (GET only):
    /                       overview: rows per list, transactions per state, today's hours
    /txns /members /cards /holds /settlements /outbox   lists; filters in the query string:
                            last4, terminal, store, status, since, until (Jalali or ISO day), limit
    /txn/{rrn}              a transaction's story (RRN, or id)
    /report?date=DAY        the daily report with its chart of sales per hour
    /settlements-due        what is owed and due to each store, per day (docs/settlement.md)
    /api/...                the same as JSON (ISO 8601 times): /api/txns?..., /api/txn/{rrn},
                            /api/report?date=DAY, /api/overview
Any page takes ?part=live: only its live part, which the page's script fetches to refresh.
"""

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from simulator.club_server import listing, queries
from simulator.club_server.console import pages

log = logging.getLogger("vafa.club_console")
STATIC = Path(__file__).parent / "static"
READER = web.AppKey("reader", object)
REFRESH_MS = web.AppKey("refresh_ms", int)


class Reader:
    """One thread, one read-only connection (opened there at first use); `read(fn, *args)`
    runs fn(conn, *args) in one read transaction, off the event loop."""

    def __init__(self, db_path):
        self.db_path = str(db_path)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="club-console")
        self._conn = None

    def _run(self, fn, args):
        if self._conn is None:
            self._conn = queries.open_readonly(self.db_path)
        self._conn.execute("BEGIN")
        try:
            return fn(self._conn, *args)
        finally:
            self._conn.execute("COMMIT")

    async def read(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, fn, args)

    def _close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self):
        await asyncio.get_running_loop().run_in_executor(self._pool, self._close)
        self._pool.shutdown(wait=True)


def _now_text():
    return listing.jalali_time(time.time())


AS_OF = re.compile(r'<time id="as-of">[^<]*</time>')


def _page(request, template, status=200, **context):
    """The page, or with ?part=live only its live part (`template` minus .html + _live), with
    the live part's digest (without its "as of" time): the page's script replaces the part
    only when the digest changed."""
    context.setdefault("title", "")
    context.update(here=request.path, refresh_ms=request.app[REFRESH_MS])
    live = pages.render(template.replace(".html", "_live.html"), **context)
    digest = hashlib.sha256(AS_OF.sub("", live).encode()).hexdigest()[:16]
    headers = {"X-Live-Digest": digest, "X-As-Of": context["as_of"], "Cache-Control": "no-store"}
    if request.query.get("part") == "live":
        html = live
    else:
        html = pages.render(template, live_digest=digest, **context)
    return web.Response(text=html, content_type="text/html", status=status, headers=headers)


def _error_page(request, status, message):
    return web.Response(
        text=pages.render(
            "error.html",
            here=request.path,
            refresh_ms=request.app[REFRESH_MS],
            title="Cannot show that",
            message=message,
        ),
        content_type="text/html",
        status=status,
    )


def _json(value, status=200):
    return web.json_response(
        listing.for_json(value),
        status=status,
        dumps=lambda v: json.dumps(v, ensure_ascii=False),
    )


@web.middleware
async def _errors(request, handler):
    """No traceback reaches a browser: a bad filter is 400, a database that cannot be read
    500, each with one line (the JSON routes as {"error": ...})."""
    api = request.path.startswith("/api/")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (pages.BadFilter, queries.QueryError) as e:
        status, message = 400, str(e)
    except sqlite3.Error as e:
        log.warning("console: the database %s: %s", request.app[READER].db_path, e)
        status, message = 500, f"the club database cannot be read: {e}"
    if api:
        return _json({"error": message}, status)
    return _error_page(request, status, message)


# -- handlers ------------------------------------------------------------------------------------


def _overview(conn, today):
    return {
        "counts": queries.counts(conn),
        "hours": queries.hourly_sales(conn, today),
    }


async def overview(request):
    today = listing.today(time.time())
    data = await request.app[READER].read(_overview, today)
    if request.path.startswith("/api/"):
        return _json({"date": today.isoformat(), **data})
    counts = data["counts"]
    return _page(
        request,
        "index.html",
        title="Club overview",
        lists=[(f"/{n}", t, counts[n]) for n, t in pages.TITLES.items()],
        states=counts["txn_states"],
        today_jalali=listing.jalali_date(today),
        chart=pages.hourly_svg(data["hours"]),
        as_of=_now_text(),
    )


def list_handler(name):
    async def handler(request):
        try:
            filters, typed, limit = pages.parse_filters(name, request.query)
        except pages.BadFilter as e:
            if request.path.startswith("/api/"):
                raise
            # the form again, as typed, with the sentence that says what to change
            typed = {k: v.strip() for k, v in request.query.items()}
            if len(typed.get("last4", "")) > 4:  # never show back what may be a card number
                typed["last4"] = ""
            context = pages.list_context(name, [], typed, _now_text())
            return _page(request, "list.html", status=400, error=str(e), **context)
        rows = await request.app[READER].read(queries.list_rows, name, filters, limit)
        if request.path.startswith("/api/"):
            shown = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in filters.items()}
            return _json({"list": name, "filters": shown, "count": len(rows), "rows": rows})
        context = pages.list_context(name, rows, typed, _now_text())
        return _page(request, "list.html", error=None, **context)

    return handler


async def story(request):
    key = request.match_info["key"]
    found = await request.app[READER].read(queries.txn_story, key)
    if found is None:
        message = f"no transaction {key!r} (an RRN has 12 digits; a shorter number is an id)"
        if request.path.startswith("/api/"):
            return _json({"error": message}, 404)
        return _error_page(request, 404, message)
    if request.path.startswith("/api/"):
        return _json(found)
    title = f"Transaction {found['txn']['rrn'] or found['txn']['id']}"
    return _page(request, "story.html", title=title, story=found, as_of=_now_text())


async def report(request):
    text = request.query.get("date", "").strip()
    try:
        date = listing.parse_day(text) if text else listing.today(time.time())
    except ValueError as e:
        raise pages.BadFilter(f"day {text!r}: {e}") from None
    found = await request.app[READER].read(queries.daily_report, date)
    if request.path.startswith("/api/"):
        return _json({**found, "date_jalali": listing.jalali_date(date)})
    context = pages.report_context(found, date, _now_text())
    return _page(request, "report.html", error=None, **context)


async def settlements_due(request):
    """What is owed, due, paying and paid per store and day recorded, every row not yet paid
    (docs/settlement.md "The settlement report")."""
    from simulator.club_server import settlement_store

    as_of = time.time()
    rows = await request.app[READER].read(settlement_store.settlement_report, as_of)
    if request.path.startswith("/api/"):
        return _json({"as_of": as_of, "rows": rows})
    return _page(request, "settlements_due.html", title="Settlements due", rows=rows,
                 states=("owed", "due", "paying", "paid"), as_of=_now_text())  # fmt: skip


def make_app(db_path, refresh=3.0):
    """The console over the club database at `db_path` (opened read-only at the first page)."""
    app = web.Application(middlewares=[_errors])
    app[READER] = Reader(db_path)
    app[REFRESH_MS] = round(refresh * 1000)
    for prefix in ("", "/api"):
        app.router.add_get(f"{prefix}/txn/{{key}}", story)
        app.router.add_get(f"{prefix}/report", report)
        app.router.add_get(f"{prefix}/settlements-due", settlements_due)
        for name in pages.TITLES:
            app.router.add_get(f"{prefix}/{name}", list_handler(name))
    app.router.add_get("/", overview)
    app.router.add_get("/api/overview", overview)
    app.router.add_static("/static", STATIC)

    async def close_reader(app):
        await app[READER].close()

    app.on_cleanup.append(close_reader)
    return app


# -- running it ------------------------------------------------------------------------------------


class ConsoleError(OSError):
    """The console cannot listen there (the port is taken, the host not this machine's)."""


def check_database(db_path):
    """Open the database read-only once and read its schema version: a file that is not a
    club database is refused before anything listens. Raises sqlite3.Error."""
    conn = queries.open_readonly(db_path)
    try:
        conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    finally:
        conn.close()


async def start_console(db_path, host="127.0.0.1", port=8080, refresh=3.0):
    """Start serving in the running loop; returns the aiohttp AppRunner (`.addresses` has
    the port; `await runner.cleanup()` stops it). ConsoleError when it cannot listen."""
    runner = web.AppRunner(make_app(db_path, refresh), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        if isinstance(e, socket.gaierror):
            why = f"cannot resolve {host!r} ({e.strerror})"
        else:
            why = os.strerror(e.errno).lower() if e.errno else str(e)
        raise ConsoleError(f"{host}:{port}: {why}") from None
    return runner


def console_port(runner):
    return runner.addresses[0][1]


def serve_console(db_path, host, port, refresh=3.0):
    """`vafa club-server console`: serve until Ctrl-C or SIGTERM."""
    from vafa.errors import BadInput

    check_database(db_path)

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            runner = await start_console(db_path, host, port, refresh)
        except ConsoleError as e:
            raise BadInput(f"--host/--port {e}", "--port") from None
        print(
            f"club console (read only) on http://{host}:{console_port(runner)}/ (Ctrl-C stops)",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


class ConsoleThread:
    """The console in a thread of its own with its own loop (tests, notebooks):
    `.port`, `.url`, `.stop()`; also a context manager."""

    def __init__(self, db_path, host="127.0.0.1", port=0, refresh=3.0):
        self._args = (db_path, host, port, refresh)
        self._loop = asyncio.new_event_loop()
        self._runner = None
        self._ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="club-console", daemon=True)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        try:
            self._runner = self._loop.run_until_complete(start_console(*self._args))
        except BaseException as e:  # handed to the starting thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def start(self, timeout=10.0):
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the console did not start")
        if self._error is not None:
            raise self._error
        return self

    @property
    def port(self):
        return console_port(self._runner)

    @property
    def url(self):
        return f"http://{self._args[1]}:{self.port}"

    def stop(self, timeout=10.0):
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_console_in_thread(db_path, **kwargs):
    return ConsoleThread(db_path, **kwargs).start()
