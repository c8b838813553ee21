"""`vafa club-server`: run the reference club server, or administer its database.

    vafa club-server --db PATH [--port N] [--host H] [--bdk HEX] [--hold-window S] [--console N]
    vafa club-server init --db PATH                  (a new, empty club database)
    vafa club-server seed-demo --db PATH
    vafa club-server add-card --db PATH --card NUMBER [--status S] [--product P] [--phone P]
    vafa club-server block-card | unblock-card | renew-card | balances --db PATH --card NUMBER
    vafa club-server ledger-check --db PATH          (exit status 1 when it finds something)
    vafa club-server members|cards|txns|holds|settlements|outbox --db PATH [filters] [--json|--csv]
    vafa club-server story RRN --db PATH   |   daily-report --db PATH [--date 1405/09/13]
    vafa club-server console --db PATH [--port 8080]   (read-only web console)
    vafa club-server add-terminals --db PATH --count N [--first N]
    vafa club-server store|chain|terminal|program COMMAND --db PATH ...   (the register)
    vafa club-server replace-card --db PATH (--old LAST4 | --old-id ID) --new NUMBER
    vafa club-server campaigns run --db PATH [--date DAY]   |   rfm --db PATH [--json|--csv]
    vafa club-server coupon add|list|disable|enable --db PATH ...   (coupon codes at the till)
    vafa club-server pin show|unblock|reset --db PATH ...           (the cardholder's PIN)
    vafa club-server settle | settlement-report | holidays | working-hours --db PATH ...
    vafa club-server report --db PATH (--week DAY | --month 1405/09 | --from DAY --to DAY)
    vafa club-server magic [--json|--csv]            (the magic cards and amounts for QA)

Without an action it serves until Ctrl-C (or SIGTERM). `--card -` reads the number from
standard input, which keeps it out of the shell history and the process list. Output shows
card numbers masked (************1234).

--db names an existing club database (and its card key file PATH.key beside it): a mistyped
path is refused, never created. Only `init` (empty) and `seed-demo` (the demo club), or
--seed-demo when serving, create one.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sqlite3
import sys
import time
from pathlib import Path

from simulator.club_server import (
    campaign_cli,
    coupon_cli,
    operator_cli,
    period_cli,
    pin_cli,
    registry_cli,
    settlement_cli,
)
from vafa import args as types
from vafa.errors import BadInput

DEFAULT_DB = "vafa-club.db"
DEFAULT_PORT = 8583
TEST_BDK_HEX = "FEDCBA9876543210F1F1F1F1F1F1F1F1"


def add_arguments(parser):
    parser.description = __doc__.split("\n\n")[0]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLite file (default {DEFAULT_DB})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=types.tcp_port("--port", allow_zero=True),
                        default=DEFAULT_PORT, help="TCP port (0: any free)")  # fmt: skip
    parser.add_argument(
        "--bdk",
        type=types.hex_bytes("--bdk", 16),
        default=TEST_BDK_HEX,
        help="base derivation key, 32 hex digits (default: the X9.24-3 test BDK, TEST ONLY)",
    )
    parser.add_argument(
        "--hold-window",
        type=types.number("--hold-window", above=0),
        default=900.0,
        help="seconds an approval waits for its confirmation (default 900)",
    )
    parser.add_argument(
        "--slow-delay",
        type=types.number("--slow-delay", low=0),
        default=12.0,
        help="seconds a 'slow' test outcome waits (default 12)",
    )
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="create the database if needed and seed the demo data first",
    )
    parser.add_argument("--log-level", type=str.upper, default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="DEBUG logs every message (default INFO)")  # fmt: skip
    parser.add_argument("--console", type=types.tcp_port("--console", allow_zero=True),
                        metavar="PORT", help="also serve the read-only web console on this "
                        "HTTP port (0: any free)")  # fmt: skip
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    for name, (_, help_text, configure) in ACTIONS.items():
        sub = actions.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: an --db given before the action is not overwritten by this default
        sub.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
        configure(sub)
    from simulator.club_server.magic import add_parser as add_magic

    add_magic(actions)  # needs no database: no --db, run before _check_db


# actions that may create the database; every other one opens an existing one
CREATES = ("init", "seed-demo")


def _check_db(args):
    """--db must be an existing club database with its card key file: a typo is refused
    here, before sqlite3 would create an empty file (and the vault a new key) there."""
    db = Path(args.db)
    creates = getattr(args, "action", None) in CREATES or (
        not getattr(args, "action", None) and args.seed_demo
    )
    if creates:
        if db.is_dir():
            raise BadInput(f"--db {db}: a folder, not a database file", "--db")
        return
    if not db.exists():
        raise BadInput(f"--db {db}: no club database there; create one with `vafa club-server "
                       f"init --db {db}` (empty) or `seed-demo --db {db}` (the demo club)",
                       "--db")  # fmt: skip
    if not db.is_file():
        raise BadInput(f"--db {db}: not a database file", "--db")
    from simulator.club_server.cards import secret_path_for

    key = Path(secret_path_for(db))
    if not key.exists():
        raise BadInput(f"--db {db}: its card key file {key} is missing; card numbers in it "
                       f"cannot be looked up without that key", "--db")  # fmt: skip


def run(args):
    if getattr(args, "without_db", None):  # `magic`
        return args.without_db(args)
    action = ACTIONS[args.action][0] if getattr(args, "action", None) else serve
    _check_db(args)
    try:
        return action(args) or 0
    except sqlite3.DatabaseError as e:
        if type(e) is sqlite3.DatabaseError:  # "file is not a database", a damaged file
            raise BadInput(f"--db {args.db}: not a club database ({e})", "--db") from None
        raise


# -- serve ------------------------------------------------------------------------------------


def serve(args):
    from simulator.club_server.seed import seed_demo
    from simulator.club_server.server import ClubServer

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.seed_demo:
        seed_demo(args.db)
    server = ClubServer(
        args.db,
        host=args.host,
        port=args.port,
        bdk=args.bdk,
        hold_window=args.hold_window,
        slow_delay=args.slow_delay,
        db_thread=os.environ.get("VAFA_CLUB_DB_THREAD", "0") == "1",
    )

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
                loop.add_signal_handler(sig, stop.set)
        try:
            await server.start()
        except OSError as e:  # the address is taken or not this machine's
            if isinstance(e, socket.gaierror):  # no such host
                why = f"cannot resolve {args.host!r} ({e.strerror})"
            else:  # asyncio's message repeats the address: the system's words say enough
                why = os.strerror(e.errno).lower() if e.errno else str(e)
            raise BadInput(f"--host/--port {args.host}:{args.port}: {why}", "--port") from None
        if args.bdk == bytes.fromhex(TEST_BDK_HEX):
            logging.getLogger("vafa.club_server").warning("using the X9.24-3 test BDK: TEST ONLY")
        print(f"club server listening on {args.host}:{server.port} (Ctrl-C stops)", flush=True)
        console = None
        try:
            console = await operator_cli.start_console(args)  # None without --console
            await stop.wait()
        finally:
            if console is not None:
                await console.cleanup()
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


# -- admin actions ------------------------------------------------------------------------------


def _card_number(text):
    if text == "-":
        text = sys.stdin.readline()
    text = text.strip().replace(" ", "").replace("-", "")
    if not (text.isascii() and text.isdigit()):
        raise ValueError("a card number is ASCII digits")
    return text


def _open(args):
    from simulator.club_server.seed import vault_for
    from simulator.club_server.storage import Storage

    return Storage(args.db), vault_for(args.db)


def init_action(args):
    from simulator.club_server.seed import vault_for
    from simulator.club_server.storage import Storage

    existed = Path(args.db).exists()
    Storage(args.db).close()
    vault_for(args.db)  # the card key file beside it
    print(f"club database {args.db} {'was there already' if existed else 'created'} "
          f"(card key file {args.db}.key); seed-demo fills it with the demo club")  # fmt: skip


def _with_card(p):
    p.add_argument("--card", required=True, help="card number, or - to read it from stdin")


def seed_demo_action(args):
    from simulator.club_server.cards import mask
    from simulator.club_server.seed import seed_demo

    info = seed_demo(args.db)
    print(f"demo data in {args.db} (card numbers: docs/testing.md)")
    print(f"BDK {info['bdk']}")
    for terminal_id, (merchant, ikid, status) in info["terminals"].items():
        print(f"terminal {terminal_id}  merchant {merchant}  initial key id {ikid}  {status}")
    for pan, persona in info["cards"].items():
        print(f"card {mask(pan)}  {persona}")
    print(f"{len(info['stock'])} unissued cards, {len(info['behaviour_cards'])} outcome cards")


def add_card_action(args):
    from simulator.club_server import admin
    from simulator.club_server.cards import mask

    store, vault = _open(args)
    pan = _card_number(args.card)
    admin.add_card(
        store,
        vault,
        pan,
        status=args.status,
        product=args.product,
        expiry=args.expiry,
        phone=args.phone,
        club_credit=args.club_credit,
        now=time.time(),
    )
    print(f"card {mask(pan)} added ({args.status})")


def _yymm(text):
    """--expiry YYMM: four digits, a month 01..12."""
    if not (len(text) == 4 and text.isascii() and text.isdigit() and 1 <= int(text[2:]) <= 12):
        raise argparse.ArgumentTypeError(f"--expiry {text!r}: expected YYMM, e.g. 2912")
    return text


def _configure_add_card(p):
    _with_card(p)
    p.add_argument("--status", default="unissued", choices=("unissued", "active", "blocked"),
                   help="the card's state in the club (default unissued)")  # fmt: skip
    p.add_argument("--product", default="standard", help="standard or pool")
    p.add_argument("--expiry", type=_yymm,
                   help="YYMM (default: the product's validity from today)")  # fmt: skip
    p.add_argument("--phone", help="the member's phone (an active card)")
    p.add_argument("--club-credit", type=types.whole("--club-credit", low=0, unit="rials"),
                   default=0, help="opening club credit, rials")  # fmt: skip


def _card_change(fn_name, verb):
    def action(args):
        from simulator.club_server import admin
        from simulator.club_server.cards import mask

        store, vault = _open(args)
        kwargs = {}
        if fn_name == "renew_card":
            kwargs = {"months": args.months, "now": time.time()}
        card = getattr(admin, fn_name)(store, vault, _card_number(args.card), **kwargs)
        print(
            f"card {mask(card['last4'])} {verb}: status {card['status']}, expiry {card['expiry']}"
        )

    return action


def _configure_renew(p):
    _with_card(p)
    p.add_argument("--months", type=types.whole("--months", low=1),
                   help="validity from today (default: the product's)")  # fmt: skip


def balances_action(args):
    from simulator.club_server import admin, reports

    store, vault = _open(args)
    card = admin.find_card(store, vault, _card_number(args.card))
    print(reports.format_balances(reports.card_balances(store, card)))


def ledger_check_action(args):
    from simulator.club_server.ledger import ledger_check

    report = ledger_check(args.db, grace=args.grace)
    print(report)
    return 0 if report.ok else 1


def add_terminals_action(args):
    from simulator.club_server.seed import add_load_terminals
    from simulator.club_server.storage import Storage

    store = Storage(args.db)
    try:
        if store.merchant(args.merchant) is None:
            known = ", ".join(sorted(m["merchant_id"] for m in store.merchants())) or "none yet"
            raise BadInput(f"--merchant {args.merchant}: no such store in {args.db} "
                           f"(stores: {known})", "--merchant")  # fmt: skip
    finally:
        store.close()
    for terminal_id, ikid in add_load_terminals(args.db, args.count, args.first, args.merchant):
        print(f"{terminal_id} {ikid}")


def _configure_add_terminals(p):
    p.add_argument("--count", type=types.whole("--count", 1, 100_000), required=True,
                   help="how many terminals")  # fmt: skip
    p.add_argument("--first", type=types.whole("--first", 1, 99_999_999), default=1001,
                   help="first terminal number")  # fmt: skip
    p.add_argument("--merchant", default="VAFA00000000001",
                   help="the store's merchant id (default VAFA00000000001)")  # fmt: skip


def _nothing(p):
    pass


# action -> (function, help, configure(subparser))
ACTIONS = {
    "init": (init_action, "create a new, empty club database and its card key file", _nothing),
    "seed-demo": (
        seed_demo_action,
        "create the database if needed and seed the demo data",
        _nothing,
    ),
    "add-card": (add_card_action, "add a club card (stock or issued)", _configure_add_card),
    "block-card": (_card_change("block_card", "blocked"), "block a card", _with_card),
    "unblock-card": (_card_change("unblock_card", "unblocked"), "unblock a card", _with_card),
    "renew-card": (
        _card_change("renew_card", "renewed"),
        "give a card a new expiry",
        _configure_renew,
    ),
    "balances": (balances_action, "a card's accounts (number shown masked)", _with_card),
    "ledger-check": (
        ledger_check_action,
        "recompute every balance from the ledger; exit 1 on any finding",
        lambda p: p.add_argument(
            "--grace",
            type=types.number("--grace", low=0),
            default=120.0,
            help="seconds a hold may outlive its window (sweeper lag)",
        ),
    ),
    "add-terminals": (
        add_terminals_action,
        "register N load-test terminals",
        _configure_add_terminals,
    ),
}

# the operator's read-only lists, story, daily report and web console (operator_cli.py)
ACTIONS.update(operator_cli.ACTIONS)
# stores, chains, terminals, programs and card replacement (registry_cli.py)
ACTIONS.update(registry_cli.ACTIONS)
ACTIONS.update(coupon_cli.ACTIONS)  # coupon add|list|disable|enable
# settlement to stores and the working calendar (settlement_cli.py), period reports
ACTIONS.update(settlement_cli.ACTIONS)
ACTIONS.update(period_cli.ACTIONS)
ACTIONS.update(pin_cli.ACTIONS)  # the cardholder's PIN: show, unblock, reset
# campaigns: birthday gifts, "we miss you" offers (campaigns run) and the RFM report
ACTIONS.update(campaign_cli.ACTIONS)
