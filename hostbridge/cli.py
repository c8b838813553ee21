"""`vafa bridge`: drive a terminal over its ECR link from the command line (docs/ecr.md 8).

    vafa bridge sale 1200000 --port socket://127.0.0.1:9100 [--invoice INV-1001] [--json]
    vafa bridge status INV-1001 --port /dev/ttyUSB0
    vafa bridge serve --port /dev/ttyUSB0 --allow-origin http://localhost:3000

--port is a serial port path, socket://HOST:PORT or loop:// (default: $VAFA_ECR_PORT).
Exit status: 0 approved (result 00), 1 the terminal answered otherwise, 3 the terminal could
not be reached (no ACK, no answer, port missing), 2 a usage error.
"""

import argparse
import json
import os
import random
import signal
import sys
import time

from hostbridge.errors import BridgeError, LinkError, WedgeError

EXIT_OK, EXIT_ANSWERED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
LOOPBACK = ("127.0.0.1", "localhost", "::1")
AMOUNT_FIELDS = ("amount", "discount", "fee", "payable", "balance", "store_balance")
SHOWN = (
    "response_code",
    "amount",
    "discount",
    "fee",
    "payable",
    "points_earned",
    "points_balance",
    "balance",
    "store_balance",
    "card",
    "stan",
    "rrn",
    "bank_reference",
    "tier",
    "reason",
    "debit_count",
    "debit_amount",
    "credit_count",
    "credit_amount",
    "reversal_count",
    "reversal_amount",
    "terminal_id",
    "time",
)


def new_invoice(command):
    """An invoice number when none is given: letter, local time, 3 random digits (16 chars)."""
    return f"{command[0].upper()}{time.strftime('%y%m%d%H%M%S')}{random.randrange(1000):03d}"


def _positive(kind):
    """An argparse type: a number of `kind` above 0."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"a number above 0 is required, not {text!r}")
        return value

    return parse


def _common():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--port", default=os.environ.get("VAFA_ECR_PORT"),
                        help="serial port path, socket://HOST:PORT or loop:// "
                             "(default: $VAFA_ECR_PORT)")  # fmt: skip
    common.add_argument("--baud", type=int, default=115200, help="serial line rate (115200)")
    common.add_argument("--json", action="store_true", help="print the result as one JSON object")
    common.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for the answer (default: per command)")  # fmt: skip
    common.add_argument("--verbose", "-v", action="store_true", help="log the link's events")
    return common


def add_arguments(parser):
    common = _common()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help_text, **kwargs):
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                              **kwargs)  # fmt: skip

    p = command("sale", "a sale: the customer pays `amount` rials with a club card")
    p.add_argument("amount", type=int, help="rials")
    p.add_argument("--invoice", help="the cashier software's invoice number (default: new)")
    p.add_argument("--cashier", default=os.environ.get("VAFA_CASHIER", "1"))
    p.add_argument("--method", choices=("bank", "club", "store", "cash"), default="bank",
                   help="bank card with club discount (default), club credit, store credit, "
                        "cash")  # fmt: skip
    p.add_argument("--wedge", action="store_true",
                   help="when approved, type the payable into the focused field (X11)")  # fmt: skip
    p.add_argument("--wedge-enter", action="store_true", help="press Enter after it")

    p = command("balance", "the card's points and balances")
    p.add_argument("--cashier", default=None)

    p = command("refund", "refund (part of) an earlier purchase")
    p.add_argument("amount", type=int, help="rials")
    p.add_argument("--rrn", required=True, help="the purchase's RRN (12 characters)")
    p.add_argument("--account", choices=("00", "40", "60", "70"), default=None,
                   help="where the money goes back: 00 cash, 40 bank card, 60 club credit "
                        "(default), 70 store credit")  # fmt: skip
    p.add_argument("--invoice", default=None)
    p.add_argument("--cashier", default=os.environ.get("VAFA_CASHIER", "1"))

    p = command("void", "void the terminal's last transaction")
    p.add_argument("--original", help="the invoice being voided (checked to be the last)")
    p.add_argument("--invoice", default=None)
    p.add_argument("--cashier", default=os.environ.get("VAFA_CASHIER", "1"))

    p = command("status", "what happened to an invoice (after a lost answer)")
    p.add_argument("invoice")

    p = command("settlement", "end of day: the terminal's totals to the club", aliases=["settle"])
    p.add_argument("--invoice", default=None)
    p.add_argument("--cashier", default=None)

    p = command("print", "print text on the terminal's printer")
    p.add_argument("text", nargs="+", help="lines (one argument per line; - reads stdin)")

    p = command("show", "show text on the terminal's display")
    p.add_argument("text", nargs="+", help="lines")
    p.add_argument("--seconds", type=int, default=None)

    p = command("topup", "a top-up: cash paid at the counter, credited to the card")
    p.add_argument("amount", type=int, help="rials")
    p.add_argument("--invoice", default=None)
    p.add_argument("--cashier", default=os.environ.get("VAFA_CASHIER", "1"))

    p = command("serve", "a local HTTP/JSON endpoint for browser-based cashier software")
    p.add_argument("--listen", default="127.0.0.1:8765", help="HOST:PORT (127.0.0.1:8765)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin allowed to call it, e.g. http://localhost:3000 "
                        "(repeatable; requests without an Origin header are allowed)")  # fmt: skip
    p.add_argument("--read-timeout", type=_positive(float), default=5.0, metavar="SECONDS",
                   help="seconds a request has to arrive whole, and its answer to be taken "
                        "(5); a slower connection is closed")  # fmt: skip
    p.add_argument("--max-connections", type=_positive(int), default=32, metavar="N",
                   help="connections served at once (32); one more is answered 503")  # fmt: skip


def _call(client, args):
    name = args.command
    if name == "sale":
        args.invoice = args.invoice or new_invoice("sale")
        return client.sale(args.amount, args.invoice, args.cashier, args.method)
    if name == "balance":
        return client.balance(args.cashier)
    if name == "refund":
        args.invoice = args.invoice or new_invoice("refund")
        return client.refund(args.amount, args.invoice, args.cashier, args.rrn, args.account)
    if name == "void":
        args.invoice = args.invoice or new_invoice("void")
        return client.void(args.invoice, args.cashier, args.original)
    if name == "status":
        return client.status(args.invoice)
    if name in ("settlement", "settle"):
        args.invoice = args.invoice or new_invoice("z")
        return client.settlement(args.invoice, args.cashier)
    if name == "topup":
        args.invoice = args.invoice or new_invoice("topup")
        return client.topup(args.amount, args.invoice, args.cashier)
    if name == "print":
        lines = sys.stdin.read().splitlines() if args.text == ["-"] else args.text
        return client.print_text("\n".join(lines))
    if name == "show":
        return client.show_text("\n".join(args.text), args.seconds)
    raise ValueError(name)


def _client(args):
    from hostbridge.client import EcrClient
    from hostbridge.link import Timers

    timers = Timers()
    if args.timeout is not None:
        timers.response_s = dict.fromkeys(timers.response_s, args.timeout)
    log = (lambda text: print("link:", text, file=sys.stderr)) if args.verbose else None
    return EcrClient(args.port, args.baud, timers, log)


def _print_result(result):
    head = f"{result.command}"
    if result.fields.get("invoice"):
        head += f" {result.fields['invoice']}"
    head += f": {result.text} ({result.result})"
    if result.recovered:
        head += ", recovered by a status inquiry"
    print(head)
    if result.fields.get("message"):
        print(f"  {result.fields['message']}")
    for key in SHOWN:
        value = result.fields.get(key)
        if value is None:
            continue
        if key in AMOUNT_FIELDS or key.endswith("_amount"):
            value = f"{value:,}"
        print(f"  {key:<16} {value}")
    if result.fields.get("club_message"):
        print(f"  {result.fields['club_message']}")
    if result.fields.get("receipt"):
        print("  receipt:")
        for line in result.fields["receipt"].splitlines():
            print("    | " + line)


def run(args):
    if not args.port:
        print("vafa bridge: --port is required (or set VAFA_ECR_PORT)", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "serve":
        return serve(args)
    client = _client(args)
    try:
        result = _call(client, args)
    except LinkError as e:
        if args.json:
            json.dump({"command": args.command, "error": str(e), "kind": type(e).__name__},
                      sys.stdout)  # fmt: skip
            sys.stdout.write("\n")
        print(f"vafa bridge: {e}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except BridgeError as e:
        print(f"vafa bridge: {e}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        client.close()
    if args.json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_result(result)
    sys.stdout.flush()
    if args.command == "sale" and args.wedge:
        from hostbridge.wedge import type_result

        try:
            typed = type_result(result, enter=args.wedge_enter)
        except WedgeError as e:
            print(f"vafa bridge: wedge: {e}", file=sys.stderr)
        else:
            if typed and not args.json:
                print(f"  typed {typed} into the focused field")
    return EXIT_OK if result.ok else EXIT_ANSWERED


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(args):
    from hostbridge.web import make_server

    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host not in LOOPBACK:
        print(f"vafa bridge serve: {host} is not a loopback address: the endpoint moves money "
              f"and has no authentication, so it serves this PC only", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    client = _client(args)
    server = make_server(client, host, int(port), args.allow_origin, args.port,
                         args.read_timeout, args.max_connections)  # fmt: skip
    print(f"bridge: http://{server.server_address[0]}:{server.server_port} -> {args.port}",
          flush=True)  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        client.close()
    return EXIT_OK
