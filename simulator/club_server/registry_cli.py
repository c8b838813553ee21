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
    replace-card (--old LAST4 | --old-id ID) --new NUMBER [--reason lost|damaged|stolen] [--pin]

Each change is one transaction on the database; a running club server sees it at its next
request. `--new -` reads the new card number from standard input (as add-card's --card);
`--pin` the new card's PIN after it (as `pin reset`).

This module holds replace-card, ACTIONS (merged into cli.ACTIONS) and run_words; the commands
of stores, chains and terminals are in registry_cli_stores.py, those of programs and tiers in
registry_cli_settings.py, what they share (options, output, command groups) in
registry_cli_common.py.
"""

import argparse
import json
import time

from simulator.club_server import listing
from simulator.club_server.registry_cli_common import (
    command_group,
    db_option,
    dispatch,
    open_storage,
    output_options,
)
from simulator.club_server.registry_cli_settings import PROGRAM, TIERS
from simulator.club_server.registry_cli_stores import CHAIN, STORE, TERMINAL
from vafa import args as types
from vafa.errors import BadInput

# -- replacing a card ----------------------------------------------------------------------


# the new card's PIN state (pins.state) -> the words of the summary line
PIN_WORDS = {
    "set": "set",
    "to set": "to set: blocked (75) until `vafa club-server pin reset`",
    "none": "none (the old card had none)",
    "blocked": "blocked",
}


def replace_card_action(args):
    from simulator.club_server.card_replace import replace_card
    from simulator.club_server.cards import mask
    from simulator.club_server.cli import _card_number
    from simulator.club_server.seed import vault_for

    try:
        pan = _card_number(args.new)
    except ValueError as e:
        raise BadInput(f"--new: {e}", "--new") from None
    pin = None
    if args.pin:  # as `pin reset`: from standard input (after the card number with --new -)
        from simulator.club_server.pin_cli import _read_pin

        pin = _read_pin()
    store = open_storage(args)
    try:
        done = replace_card(store, vault_for(args.db), pan, old_last4=args.old, pin=pin,
                            old_id=args.old_id, reason=args.reason, now=time.time())  # fmt: skip
    finally:
        pin = None
        store.close()
    if args.json:
        print(json.dumps(done))
        return
    print(f"card {mask(done['old_last4'])} blocked ({done['reason']}); card "
          f"{mask(done['new_last4'])} issued to member {done['member_id']}, expiry "
          f"{done['expiry']}: {done['accounts_moved']} account(s) and {done['txns_moved']} "
          f"transaction(s) moved, {done['bank_cards_relinked']} bank card(s) relinked; PIN "
          f"{PIN_WORDS[done['pin']]}")  # fmt: skip


def _configure_replace(p):
    old = p.add_mutually_exclusive_group(required=True)
    old.add_argument("--old", type=_last4, help="the old card's last 4 digits")
    old.add_argument("--old-id", type=types.whole("--old-id", 1),
                     help="the old card's id (`cards --last4 1234` lists it)")  # fmt: skip
    p.add_argument("--new", required=True,
                   help="the new card's number, or - to read it from stdin")  # fmt: skip
    p.add_argument("--reason", default="lost", choices=("lost", "damaged", "stolen"),
                   help="why it is replaced (default lost)")  # fmt: skip
    p.add_argument("--pin", action="store_true",
                   help="read the new card's PIN from standard input, as `pin reset` does "
                        "(never an argument); without it a card that had a PIN gets none "
                        "until `pin reset`")  # fmt: skip
    output_options(p, csv_too=False)


def _last4(text):
    try:
        return listing.parse_last4(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--old: {e}") from None


_last4.__name__ = "last 4 digits"


# action -> (function, help, configure(subparser)), merged into cli.ACTIONS
ACTIONS = {
    "store": (
        dispatch,
        "register, change, deactivate and list stores",
        command_group("store", STORE),
    ),
    "chain": (dispatch, "register and list chains of stores", command_group("chain", CHAIN)),
    "terminal": (
        dispatch,
        "register, move, deactivate and list terminals",
        command_group("terminal", TERMINAL),
    ),
    "program": (dispatch, "list, show, add and change programs", command_group("program", PROGRAM)),
    "tiers": (dispatch, "show and change the club's tier rule", command_group("tiers", TIERS)),
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
        db_option(sub)
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
