"""`vafa club-server pin show|unblock|reset`: the operator's side of the cardholder's PIN
(docs/club_server.md "PINs", simulator/club_server/pins.py).

    vafa club-server pin show --card N|- [--json]
    vafa club-server pin unblock --card N|-      the wrong-PIN counter back to 0
    vafa club-server pin reset --card N|-        a new PIN, read from standard input

`reset` reads the new PIN (4..12 digits) from standard input: typed without echo at a terminal
(the member types it at the club's desk), or one line from a pipe; with `--card -` the card
number is the line before it (so that neither is an argument). It is never an argument (the
process list and the shell history would keep it) and never printed. Output shows the card's
last 4 digits only.
"""

import argparse
import getpass
import json
import sys
import time

from vafa.errors import BadInput


def _configure(p):
    commands = p.add_subparsers(dest="pin_command", metavar="COMMAND", required=True)
    for name, words in (
        ("show", "whether a card has a PIN, and its wrong tries in a row"),
        ("unblock", "unblock a card's PIN: the wrong-PIN counter back to 0"),
        ("reset", "set a card's PIN anew (read from standard input, never echoed)"),
    ):
        c = commands.add_parser(name, help=words, description=words)
        c.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")
        c.add_argument("--card", required=True, help="card number, or - to read it from stdin")
        if name == "show":
            c.add_argument("--json", action="store_true", help="one JSON object")


def _card(args):
    from simulator.club_server import admin
    from simulator.club_server.cli import _card_number, _open

    try:
        pan = _card_number(args.card)
    except ValueError as e:
        raise BadInput(f"--card: {e}") from None
    store, vault = _open(args)
    try:
        card = admin.find_card(store, vault, pan)
    except admin.AdminError as e:
        store.close()
        raise BadInput(str(e)) from None
    return store, vault, pan, card


def _read_pin():
    if sys.stdin.isatty():
        first = getpass.getpass("new PIN: ")
        if getpass.getpass("again: ") != first:
            raise BadInput("the two PINs differ")
        pin = first
    else:
        pin = sys.stdin.readline().strip()
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise BadInput("the PIN on standard input must be 4..12 digits")
    return pin


def show_action(args):
    from simulator.club_server import pins
    from simulator.club_server.cards import mask

    store, _, _, card = _card(args)
    try:
        state = pins.state(pins.record(store, card["id"]))
    finally:
        store.close()
    state = {"card": mask(card["last4"]), **state}
    if args.json:
        print(json.dumps(state))
    else:
        print(f"card {state['card']}: PIN {state['pin']}, {state['wrong']} wrong in a row, "
              f"{state['tries_left']} tries left")  # fmt: skip


def unblock_action(args):
    from simulator.club_server import pins
    from simulator.club_server.cards import mask

    store, _, _, card = _card(args)
    try:
        with store.transaction():
            done = pins.unblock(store, card["id"])
    finally:
        store.close()
    if not done:
        raise BadInput(f"card {mask(card['last4'])} has no PIN to unblock (a replaced card's "
                       f"PIN is set with `pin reset`)")  # fmt: skip
    print(f"card {mask(card['last4'])}: PIN unblocked ({pins.PIN_TRIES} tries)")


def reset_action(args):
    from simulator.club_server import pins
    from simulator.club_server.cards import mask

    store, vault, pan, card = _card(args)  # --card -: its first line, the PIN after it
    try:
        pin = _read_pin()
        with store.transaction():
            pins.set_pin(store, vault, card["id"], pan, pin, time.time())
        pin = None
    finally:
        store.close()
    print(f"card {mask(card['last4'])}: new PIN set, unblocked")


COMMANDS = {"show": show_action, "unblock": unblock_action, "reset": reset_action}


def pin_action(args):
    return COMMANDS[args.pin_command](args)


# merged into cli.ACTIONS
ACTIONS = {"pin": (pin_action, "the cardholder's PIN: show, unblock, reset", _configure)}
