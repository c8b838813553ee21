"""`vafa card`: virtual club cards, and reading and personalizing club cards through PC/SC.

    vafa card personas                                   the virtual cards and what they do
    vafa card emulate --persona active [--vpcd 127.0.0.1:35963] [--seconds N]
    vafa card read [--reader NAME] [--json]              read + authenticate; exit 1 if not genuine
    vafa card personalize --pan 9879110000000105 --expiry 2912 [--holder NAME] [--reader NAME]

emulate needs pcscd running with the vsmartcard vpcd driver (scripts/install-system-deps.sh;
start it with `pcscd -f -i &`); read and personalize need pyscard (`pip install vafa[cards]`).
Keys default to the TEST ONLY keys of docs/testing.md.

Exit status: 0 done (read: the card is genuine); 1 the card refused or failed (not genuine,
blank, locked, unreadable); 2 no card, no reader or bad arguments.
"""

import argparse
import binascii
import json
import os
import signal
import sys
import time

from agent.card_io.apdu import ApduChannel
from agent.card_io.clubcard import LIFE_LOCKED, TAG_PAN, ClubCardSession, check_pan
from agent.card_io.errors import CardError, CardRemoved, ReaderError
from agent.ports import mask_pan
from simulator.cards import catalogue, personas
from simulator.cards.vpcd import DEFAULT_HOST, DEFAULT_PORT, VpcdCard
from vafa import args as types

EXIT_OK, EXIT_CARD, EXIT_NO_CARD = 0, 1, 2
EXIT_CODES = {
    EXIT_CARD: "the card refused or failed (not genuine, blank, locked, unreadable)",
    EXIT_NO_CARD: "no card, no reader, or bad input",
}


def _pan(text):
    """--pan: a card number, 12..19 digits."""
    try:
        check_pan(text.strip())
    except CardError as e:
        raise argparse.ArgumentTypeError(f"--pan {text!r}: {e}") from None
    return text.strip()


def _key(name):
    return types.hex_bytes(name, 16)


def _hex(data):
    return binascii.hexlify(data).decode().upper()


def add_arguments(parser):
    sub = parser.add_subparsers(dest="card_command", metavar="COMMAND", required=True)

    p = sub.add_parser("personas", help="list the virtual card personas")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")

    p = sub.add_parser("emulate", help="insert a virtual card into pcscd (vpcd) until Ctrl-C")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--persona", choices=catalogue.chip_names(), metavar="NAME",
                     help="which virtual card: a name `vafa card personas` lists, with a chip; "
                          "e.g. active, member-b, magic-05")  # fmt: skip
    who.add_argument("--pan", type=_pan, help="an issued card with this number (test keys)")
    p.add_argument(
        "--vpcd",
        type=types.hostport("--vpcd", f"{DEFAULT_HOST}:{DEFAULT_PORT}"),
        default=f"{DEFAULT_HOST}:{DEFAULT_PORT}",
        metavar="HOST:PORT",
        help="the vpcd driver's socket (default %(default)s: 'Virtual PCD 00 00')",
    )
    p.add_argument("--seconds", type=types.number("--seconds", above=0), default=None,
                   help="stop after N seconds")  # fmt: skip
    p.add_argument("--wait", type=types.number("--wait", above=0), default=5.0,
                   help="seconds for vpcd to accept the card (default 5)")  # fmt: skip
    p.add_argument("--trace", action="store_true", help="print connection events")

    for name, text in (
        ("read", "read and authenticate a club card through PC/SC"),
        ("personalize", "issue a blank card through PC/SC: write data and key, then lock"),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--reader", help="reader name or a part of it (default: any with a card)")
        p.add_argument("--timeout", type=types.number("--timeout", above=0), default=10.0,
                       help="seconds to wait for a card (default 10)")  # fmt: skip
        p.add_argument("--imk", type=_key("--imk"), default=_hex(personas.TEST_IMK),
                       help="issuer master key, hex (default: the TEST ONLY key)")  # fmt: skip
        p.add_argument("--json", action="store_true", help="one JSON object on stdout")
        p.add_argument("--trace", action="store_true", help="APDU trace on stderr (masked)")
        if name == "personalize":
            p.add_argument("--pan", required=True, help="card number (12..19 digits, Luhn)")
            p.add_argument("--expiry", default=personas.DEFAULT_EXPIRY, help="YYMM")
            p.add_argument("--program", default="standard", help="program id (card product)")
            p.add_argument("--holder", default="", help="holder name (UTF-8, Persian allowed)")
            p.add_argument(
                "--perso-key",
                type=_key("--perso-key"),
                default=_hex(personas.TEST_PERSO_KEY),
                help="issuer personalization key, hex (default: the TEST ONLY key)",
            )
            p.add_argument("--no-lock", action="store_true", help="write but do not lock")


def run(args):
    return COMMANDS[args.card_command](args)


# -- personas --------------------------------------------------------------------------------


def cmd_personas(args):
    """Every card name (simulator/cards/catalogue.py): the chip personas with their chip data,
    then the other names the emulator and scenarios take (read like `active`)."""
    rows = []
    for name, entry in catalogue.catalogue().items():
        expiry, program, behaviour = None, None, None
        if name in personas.PERSONAS:
            _pan, expiry, program, _holder, behaviour, _what = personas.PERSONAS[name]
        elif entry.chip is not None:
            expiry, program, behaviour = personas.DEFAULT_EXPIRY, "standard", "issued"
        rows.append({"persona": name, "card": entry.number, "kind": entry.kind,
                     "expiry": expiry, "program": program, "behaviour": behaviour,
                     "what": entry.what})  # fmt: skip
    if args.json:
        _dump(rows)
        return EXIT_OK
    for r in rows:
        print(f"{r['persona']:<12} {r['card'] or '(blank)':<17} {r['what']}")
    return EXIT_OK


# -- emulate ---------------------------------------------------------------------------------


def cmd_emulate(args):
    host, port = args.vpcd
    if args.persona:
        card, label = catalogue.catalogue()[args.persona].chip(), args.persona
    else:
        card, label = personas.issued_card(args.pan), "issued"
    shown = mask_pan(card.pan()) if TAG_PAN in card.data else "(blank)"
    trace = (lambda text: print(text, file=sys.stderr, flush=True)) if args.trace else None
    runner = VpcdCard(host, port, trace)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        runner.insert(card, connect_timeout=args.wait)
    except OSError as e:
        print(f"vafa card emulate: {e}", file=sys.stderr)
        return EXIT_NO_CARD
    print(f"virtual card '{label}' {shown} inserted in {runner.reader_name} "
          f"(vpcd {host}:{port}); Ctrl-C to take it out", flush=True)  # fmt: skip
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            left = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.monotonic()))
            if runner.wait(left):
                print("card pulled out of the reader", flush=True)
                runner.gone.clear()
    except KeyboardInterrupt:
        pass
    finally:
        runner.remove()
    print("card removed", flush=True)
    return EXIT_OK


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM ends the emulation like Ctrl-C: the card is taken out


# -- read and personalize ------------------------------------------------------------------------


def _open(args):
    from agent.card_io.pcsc import PcscReader

    trace = (lambda text: print(text, file=sys.stderr)) if args.trace else None
    reader = PcscReader(args.reader)
    if not reader.wait_for_card(int(args.timeout * 1000)):
        raise CardRemoved(f"no card within {args.timeout:g} s")
    reader.connect()
    return reader, ApduChannel(reader, trace)


def _report(args, out, code):
    if args.json:
        _dump(out)
    else:
        for key, value in out.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            print(f"{key:<14} {value}")
    return code


def cmd_read(args):
    out = {"reader": None, "card": None, "expiry": None, "program": None, "holder": None,
           "serial": None, "personalized": None, "authenticated": False, "error": None}  # fmt: skip

    def read(channel):
        session = ClubCardSession(channel)
        fci = session.select()
        out["serial"] = _hex(fci["serial"])
        out["personalized"] = fci["life_cycle"] == LIFE_LOCKED
        data = session.read_data()
        out.update(card=mask_pan(data["pan"]), expiry=data["expiry"],
                   program=data["program"], holder=data["holder"])  # fmt: skip
        session.authenticate(args.imk, data["pan"], os.urandom(16))
        out["authenticated"] = True

    return _on_card(args, out, read)


def cmd_personalize(args):
    from agent.card_io import perso

    out = {"reader": None, "card": mask_pan(args.pan), "expiry": args.expiry,
           "program": args.program, "locked": False, "verified": False, "error": None}  # fmt: skip
    try:
        perso.check_inputs(args.pan, args.expiry, args.program, args.holder)
    except ValueError as e:
        out["error"] = str(e)
        _report(args, out, EXIT_NO_CARD)
        return EXIT_NO_CARD

    def personalize(channel):
        imk = args.imk
        fci = perso.personalize(channel, args.perso_key, imk, args.pan, args.expiry,
                                args.program, args.holder, lock=not args.no_lock)  # fmt: skip
        out["locked"] = fci["life_cycle"] == LIFE_LOCKED
        if out["locked"]:  # read it back as a terminal would
            session = ClubCardSession(channel)
            data = session.read_data()
            session.authenticate(imk, data["pan"], os.urandom(16))
            out["verified"] = data["pan"] == args.pan

    return _on_card(args, out, personalize)


def _on_card(args, out, work):
    """Open the reader, run work(channel), report: exit code by what went wrong, if anything."""
    reader = None
    try:
        reader, channel = _open(args)
        out["reader"] = reader.name
        work(channel)
        code = EXIT_OK
    except (CardRemoved, ReaderError) as e:
        out["error"] = str(e)
        code = EXIT_NO_CARD
    except CardError as e:
        out["error"] = str(e)
        code = EXIT_CARD
    finally:
        if reader is not None:
            reader.close()
    return _report(args, out, code)


def _dump(obj):
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


COMMANDS = {
    "personas": cmd_personas,
    "emulate": cmd_emulate,
    "read": cmd_read,
    "personalize": cmd_personalize,
}
