"""`vafa club-server` commands that change the club's register (registry.py, card_replace.py):

    store add MERCHANT_ID --name N --name-fa N --program ID [--chain CHAIN]
    store change MERCHANT_ID [--name N] [--name-fa N] [--program ID] [--chain CHAIN|none]
    store deactivate MERCHANT_ID  |  store list [--json|--csv]
    chain add CHAIN_ID --name N [--name-fa N]  |  chain list [--json|--csv]
    terminal add TERMINAL_ID --store MERCHANT_ID (--ikid HEX | --number N)
    terminal change TERMINAL_ID [--store MERCHANT_ID] [--status active|inactive]
    terminal deactivate TERMINAL_ID  |  terminal list [--store MERCHANT_ID] [--json|--csv]
    program list | show ID [--json] | add --name N [--like ID] | set ID KEY VALUE [KEY VALUE...]
    tiers show [--json] | set KEY VALUE [KEY VALUE...]      (the club-wide tier rule)
    replace-card (--old LAST4 | --old-id ID) --new NUMBER [--reason lost|damaged|stolen]

Each change is one transaction on the database; a running club server sees it at its next
request. `--new -` reads the new card number from standard input (as add-card's --card).
"""

import argparse
import csv
import json
import sys
import time

from simulator.club_server import listing
from simulator.club_server.program_settings import SETTINGS
from vafa import args as types
from vafa.errors import BadInput


def _open(args):
    from simulator.club_server.storage import Storage

    return Storage(args.db)


def _run(fn):
    """An action over an open Storage, closed afterwards."""

    def action(args):
        store = _open(args)
        try:
            return fn(store, args)
        finally:
            store.close()

    return action


def _db(p):
    # SUPPRESS: an --db given before the command is not overwritten by this default
    p.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")


def _output(p, csv_too=True):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="one JSON object (ISO 8601 times)")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="CSV with a header row")


def _table(rows):
    """Aligned columns named by the rows' keys; times in Tehran, Jalali."""
    shown = [
        {
            k: listing.jalali_time(v) if k.endswith("_at") else ("" if v is None else str(v))
            for k, v in row.items()
        }
        for row in rows
    ]
    keys = list(shown[0])
    widths = {k: max(len(k), *(len(r[k]) for r in shown)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys).rstrip()]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys).rstrip() for r in shown]
    return "\n".join(lines)


def _show_rows(args, name, rows):
    if getattr(args, "json", False):
        print(json.dumps(listing.for_json({"list": name, "count": len(rows), "rows": rows}),
                         ensure_ascii=False))  # fmt: skip
    elif getattr(args, "csv", False):
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(listing.for_json(rows))
    elif rows:
        print(_table(rows))
    else:
        print(f"(no {name})")


def _group(name, commands):
    """A command with commands of its own: name -> (function(store, args), help, configure)."""

    def configure(p):
        sub = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
        for command, (fn, help_text, setup) in commands.items():
            leaf = sub.add_parser(command, help=help_text, description=help_text)
            _db(leaf)
            setup(leaf)
            leaf.set_defaults(registry_action=_run(fn))

    return configure


def _dispatch(args):
    return args.registry_action(args)


# -- stores ---------------------------------------------------------------------------------


def _store_add(store, args):
    from simulator.club_server import registry

    row = registry.add_store(store, args.merchant_id, args.name, args.name_fa, args.program,
                             args.chain)  # fmt: skip
    print(f"store {row['merchant_id']} added: {row['name']} / {row['name_fa']}, program "
          f"{row['program_id']}, chain {row['chain_id'] or '-'}")  # fmt: skip


def _store_change(store, args):
    from simulator.club_server import registry

    row = registry.change_store(store, args.merchant_id, name=args.name, name_fa=args.name_fa,
                                program_id=args.program, chain_id=args.chain,
                                status=args.status)  # fmt: skip
    print(f"store {row['merchant_id']}: {row['name']} / {row['name_fa']}, program "
          f"{row['program_id']}, chain {row['chain_id'] or '-'}, {row['status']}")  # fmt: skip


def _store_deactivate(store, args):
    from simulator.club_server import registry

    row = registry.deactivate_store(store, args.merchant_id)
    print(f"store {row['merchant_id']} {row['status']}: its terminals' requests are answered 03")


def _store_list(store, args):
    from simulator.club_server import registry

    _show_rows(args, "stores", registry.stores(store))


def _merchant_arg(p):
    p.add_argument("merchant_id", help="the store's merchant id (field 42, up to 15 characters)")


def _store_fields(p, required):
    p.add_argument("--name", required=required, help="the store's name (English)")
    p.add_argument("--name-fa", required=required, help="the store's name in Persian")
    p.add_argument("--program", type=types.whole("--program", 1), required=required,
                   help="the id of the store's program (`program list`)")  # fmt: skip


def _configure_store_add(p):
    _merchant_arg(p)
    _store_fields(p, True)
    p.add_argument("--chain", help="the chain the store belongs to (`chain list`)")


def _configure_store_change(p):
    _merchant_arg(p)
    _store_fields(p, False)
    p.add_argument("--chain", help="move the store into this chain (none: out of its chain)")
    p.add_argument("--status", choices=("active", "inactive"),
                   help="active, or inactive (its terminals are answered 03)")  # fmt: skip


STORE = {
    "add": (_store_add, "register a store (a merchant)", _configure_store_add),
    "change": (
        _store_change,
        "change a store's names, program, chain or status",
        _configure_store_change,
    ),
    "deactivate": (
        _store_deactivate,
        "deactivate a store: its terminals are answered 03",
        _merchant_arg,
    ),
    "list": (_store_list, "the stores, their program, chain and active terminals", _output),
}


# -- chains ---------------------------------------------------------------------------------


def _chain_add(store, args):
    from simulator.club_server import registry

    row = registry.add_chain(store, args.chain_id, args.name, args.name_fa or "", now=time.time())
    print(f"chain {row['chain_id']} added: {row['name']}; put stores in it with "
          f"`store change MERCHANT_ID --chain {row['chain_id']}`")  # fmt: skip


def _chain_list(store, args):
    from simulator.club_server import registry

    _show_rows(args, "chains", registry.chains(store))


def _configure_chain_add(p):
    p.add_argument("chain_id", help="the chain's id (letters, digits, - or _)")
    p.add_argument("--name", required=True, help="the chain's name (English)")
    p.add_argument("--name-fa", help="the chain's name in Persian")


CHAIN = {
    "add": (_chain_add, "register a chain of stores", _configure_chain_add),
    "list": (_chain_list, "the chains and their stores", _output),
}


# -- terminals ------------------------------------------------------------------------------


def _terminal_add(store, args):
    from simulator.club_server import registry
    from simulator.club_server.seed import terminal_identity

    terminal_id, ikid = args.terminal_id, args.ikid
    if args.number is not None:
        numbered_id, ikid = terminal_identity(args.number)
        if terminal_id != numbered_id:
            raise BadInput(f"--number {args.number} is terminal {numbered_id}, not "
                           f"{terminal_id} (docs/testing.md \"Keys\")", "--number")  # fmt: skip
    row = registry.add_terminal(store, terminal_id, args.store, ikid)
    print(f"terminal {row['terminal_id']} added at {row['merchant_id']}, initial key id "
          f"{row['ikid']}, {row['status']}")  # fmt: skip


def _terminal_change(store, args):
    from simulator.club_server import registry

    row = registry.change_terminal(store, args.terminal_id, merchant_id=args.store,
                                   status=args.status)  # fmt: skip
    print(f"terminal {row['terminal_id']} at {row['merchant_id']}, {row['status']}")


def _terminal_deactivate(store, args):
    from simulator.club_server import registry

    row = registry.deactivate_terminal(store, args.terminal_id)
    print(f"terminal {row['terminal_id']} {row['status']}: its requests are answered 03")


def _terminal_list(store, args):
    from simulator.club_server import registry

    _show_rows(args, "terminals", registry.terminals(store, args.store))


def _terminal_arg(p):
    p.add_argument("terminal_id", help="terminal id (field 41, 8 characters, e.g. VT000005)")


def _configure_terminal_add(p):
    _terminal_arg(p)
    p.add_argument("--store", required=True, help="the merchant id of its store")
    key = p.add_mutually_exclusive_group(required=True)
    key.add_argument("--ikid", help="its initial key id, 16 hex digits (DUKPT, docs/protocol.md)")
    key.add_argument("--number", type=types.whole("--number", 1, 999_999),
                     help="the demo scheme's terminal number: VT + 6 digits, initial key id "
                     "56414641 + 8 digits (docs/testing.md)")  # fmt: skip


def _configure_terminal_change(p):
    _terminal_arg(p)
    p.add_argument("--store", help="move it to this store (merchant id)")
    p.add_argument("--status", choices=("active", "inactive"),
                   help="active, or inactive (answered 03)")  # fmt: skip


def _configure_terminal_list(p):
    p.add_argument("--store", help="only this store's terminals (merchant id)")
    _output(p)


TERMINAL = {
    "add": (_terminal_add, "register a terminal at a store", _configure_terminal_add),
    "change": (
        _terminal_change,
        "move a terminal to another store, or (de)activate it",
        _configure_terminal_change,
    ),
    "deactivate": (
        _terminal_deactivate,
        "deactivate a terminal: its requests are answered 03",
        _terminal_arg,
    ),
    "list": (_terminal_list, "the terminals, their store and status", _configure_terminal_list),
}


# -- programs -------------------------------------------------------------------------------


def _program_list(store, args):
    from simulator.club_server import registry

    _show_rows(args, "programs", registry.programs(store))


def _print_program(args, program_id, values):
    if args.json:
        print(json.dumps({"program": program_id, "settings": values}, ensure_ascii=False))
        return
    width = max(len(k) for k in values)
    print(f"program {program_id}")
    for key, value in values.items():
        print(f"  {key.ljust(width)}  {value}    ({SETTINGS[key].meaning})")


def _program_show(store, args):
    from simulator.club_server import registry

    _print_program(args, args.program_id, registry.program_values(store, args.program_id))


def _program_set(store, args):
    from simulator.club_server import registry

    changes = _pairs(args)
    values = registry.set_program(store, args.program_id, changes)
    print(f"program {args.program_id}: " + ", ".join(f"{k} {values[k]}" for k, _ in changes))


def _program_add(store, args):
    from simulator.club_server import registry

    program_id = registry.add_program(store, args.name, args.like)
    print(f"program {program_id} added ({args.name}); change it with `program set "
          f"{program_id} KEY VALUE`, keys in `program show {program_id}`")  # fmt: skip


def _program_id(p):
    p.add_argument("program_id", type=types.whole("program id", 1),
                   help="the program's id (`program list`)")  # fmt: skip


def _configure_program_show(p):
    _program_id(p)
    _output(p, csv_too=False)


def _configure_program_set(p):
    _program_id(p)
    p.add_argument("key", help=f"a setting: {', '.join(SETTINGS)}")
    p.add_argument("value", help="its value (checked against the setting's type and range)")
    p.add_argument(
        "more", nargs="*", default=[], metavar="KEY VALUE", help="further settings, in pairs"
    )


def _configure_program_add(p):
    p.add_argument("--name", required=True, help="the program's name")
    p.add_argument("--like", type=types.whole("--like", 1),
                   help="copy every setting of this program (default: 1 point per 10,000 "
                   "rials, nothing else)")  # fmt: skip


PROGRAM = {
    "list": (_program_list, "the programs and the stores that use them", _output),
    "show": (
        _program_show,
        "every setting of a program, with its meaning",
        _configure_program_show,
    ),
    "set": (
        _program_set,
        "change settings of a program, checked before they are saved",
        _configure_program_set,
    ),
    "add": (_program_add, "add a program (a store's scenario)", _configure_program_add),
}


# -- the club's tier rule -----------------------------------------------------------------


def _tiers_show(store, args):
    from simulator.club_server import registry
    from simulator.club_server.tier_settings import TIER_SETTINGS

    values = registry.tier_values(store)
    if args.json:
        print(json.dumps({"tiers": values}))
        return
    width = max(len(k) for k in values)
    for key, value in values.items():
        print(f"{key.ljust(width)}  {value:,}    ({TIER_SETTINGS[key].meaning})")


def _tiers_set(store, args):
    from simulator.club_server import registry

    values = registry.set_tiers(store, _pairs(args))
    print("tiers: " + ", ".join(f"{k} {v:,}" for k, v in values.items())
          + "; each member's next sale is priced at the new rule")  # fmt: skip


def _pairs(args):
    words = [args.key, args.value, *args.more]
    if len(words) % 2:
        raise BadInput(f"{words[-1]!r} has no value; give KEY VALUE pairs", "more")
    return list(zip(words[::2], words[1::2], strict=True))


def _configure_tiers_show(p):
    _output(p, csv_too=False)


def _configure_tiers_set(p):
    from simulator.club_server.tier_settings import TIER_SETTINGS

    p.add_argument("key", help=f"a setting: {', '.join(TIER_SETTINGS)}")
    p.add_argument("value", help="its value, a whole number (checked before it is saved)")
    p.add_argument(
        "more", nargs="*", default=[], metavar="KEY VALUE", help="further settings, in pairs"
    )


TIERS = {
    "show": (_tiers_show, "the club's tier rule: window and volumes", _configure_tiers_show),
    "set": (_tiers_set, "change the tier rule, checked before it is saved", _configure_tiers_set),
}


# -- replacing a card ----------------------------------------------------------------------


def replace_card_action(args):
    from simulator.club_server.card_replace import replace_card
    from simulator.club_server.cards import mask
    from simulator.club_server.cli import _card_number
    from simulator.club_server.seed import vault_for

    try:
        pan = _card_number(args.new)
    except ValueError as e:
        raise BadInput(f"--new: {e}", "--new") from None
    store = _open(args)
    try:
        done = replace_card(store, vault_for(args.db), pan, old_last4=args.old,
                            old_id=args.old_id, reason=args.reason, now=time.time())  # fmt: skip
    finally:
        store.close()
    if args.json:
        print(json.dumps(done))
        return
    print(f"card {mask(done['old_last4'])} blocked ({done['reason']}); card "
          f"{mask(done['new_last4'])} issued to member {done['member_id']}, expiry "
          f"{done['expiry']}: {done['accounts_moved']} account(s) and {done['txns_moved']} "
          f"transaction(s) moved, {done['bank_cards_relinked']} bank card(s) relinked")  # fmt: skip


def _configure_replace(p):
    old = p.add_mutually_exclusive_group(required=True)
    old.add_argument("--old", type=_last4, help="the old card's last 4 digits")
    old.add_argument("--old-id", type=types.whole("--old-id", 1),
                     help="the old card's id (`cards --last4 1234` lists it)")  # fmt: skip
    p.add_argument("--new", required=True,
                   help="the new card's number, or - to read it from stdin")  # fmt: skip
    p.add_argument("--reason", default="lost", choices=("lost", "damaged", "stolen"),
                   help="why it is replaced (default lost)")  # fmt: skip
    _output(p, csv_too=False)


def _last4(text):
    try:
        return listing.parse_last4(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--old: {e}") from None


_last4.__name__ = "last 4 digits"


# action -> (function, help, configure(subparser)), merged into cli.ACTIONS
ACTIONS = {
    "store": (_dispatch, "register, change, deactivate and list stores", _group("store", STORE)),
    "chain": (_dispatch, "register and list chains of stores", _group("chain", CHAIN)),
    "terminal": (
        _dispatch,
        "register, move, deactivate and list terminals",
        _group("terminal", TERMINAL),
    ),
    "program": (_dispatch, "list, show, add and change programs", _group("program", PROGRAM)),
    "tiers": (_dispatch, "show and change the club's tier rule", _group("tiers", TIERS)),
    "replace-card": (
        replace_card_action,
        "replace a lost or damaged card: balances, points and history move, the old is blocked",
        _configure_replace,
    ),
}


def run_words(db, words):
    """One register command, its words as after `vafa club-server` (`terminal deactivate
    VT000001`), on the database `db` in this process (the scenarios' `register:` step):
    (True, what it printed) or (False, the one line it was refused with)."""
    import contextlib
    import io

    from simulator.club_server.admin import AdminError
    from vafa.cli import Parser
    from vafa.errors import VafaError

    parser = Parser(prog="vafa club-server")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, (fn, help_text, configure) in ACTIONS.items():
        sub = actions.add_parser(name, help=help_text)
        _db(sub)
        configure(sub)
        sub.set_defaults(register_run=fn)
    out = io.StringIO()
    try:
        args = parser.parse_args([*words[:1], "--db", str(db), *words[1:]])
        with contextlib.redirect_stdout(out):
            args.register_run(args)
    except (VafaError, AdminError, ValueError) as e:
        return False, " ".join(str(e).split())
    return True, out.getvalue().strip()
