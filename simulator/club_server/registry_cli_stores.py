"""`vafa club-server store|chain|terminal ...`: the register commands that add, change,
deactivate and list stores, chains and terminals (registry.py); composed into the club
server's commands by registry_cli.py (STORE, CHAIN, TERMINAL)."""

import time

from simulator.club_server.registry_cli_common import output_options, show_rows
from vafa import args as types
from vafa.errors import BadInput

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

    show_rows(args, "stores", registry.stores(store))


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
    "list": (_store_list, "the stores, their program, chain and active terminals", output_options),
}


# -- chains ---------------------------------------------------------------------------------


def _chain_add(store, args):
    from simulator.club_server import registry

    row = registry.add_chain(store, args.chain_id, args.name, args.name_fa or "", now=time.time())
    print(f"chain {row['chain_id']} added: {row['name']}; put stores in it with "
          f"`store change MERCHANT_ID --chain {row['chain_id']}`")  # fmt: skip


def _chain_list(store, args):
    from simulator.club_server import registry

    show_rows(args, "chains", registry.chains(store))


def _configure_chain_add(p):
    p.add_argument("chain_id", help="the chain's id (letters, digits, - or _)")
    p.add_argument("--name", required=True, help="the chain's name (English)")
    p.add_argument("--name-fa", help="the chain's name in Persian")


CHAIN = {
    "add": (_chain_add, "register a chain of stores", _configure_chain_add),
    "list": (_chain_list, "the chains and their stores", output_options),
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

    show_rows(args, "terminals", registry.terminals(store, args.store))


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
    output_options(p)


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
