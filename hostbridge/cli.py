"""`vafa bridge`: drive a terminal over its ECR link from the command line (docs/ecr.md 8).

    vafa bridge sale 1200000 --port socket://127.0.0.1:9100 [--invoice INV-1001] [--json]
    vafa bridge status INV-1001 --port /dev/ttyUSB0
    vafa bridge serve --port /dev/ttyUSB0 --allow-origin http://localhost:3000

--port is a serial port path, socket://HOST:PORT or loop:// (default: $VAFA_ECR_PORT).
Exit status: 0 approved (result 00); 1 the terminal answered otherwise; 2 bad input (nothing
was sent); 3 the port cannot be opened: the command was never sent (safe to send again);
4 the command was sent but the terminal did not answer, not even a status inquiry: for a sale,
refund, void, settlement or top-up the outcome is unknown, so ask with `vafa bridge status
INVOICE` before anything is charged again. A port that cannot be opened fails at once, with
the cause (no such port, nothing listening, a HOST:PORT without socket://); --timeout bounds
the wait for the answer and, as long again, the status inquiries after a lost one.
"""

import argparse
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

from hostbridge.errors import LinkError, MessageError, WedgeError
from vafa import args as types
from vafa.errors import BadInput, VafaError

EXIT_OK, EXIT_ANSWERED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NO_ANSWER = 0, 1, 2, 3, 4
# vafa/cli.py: the statuses of this job beyond the common ones, and its errors' statuses
EXIT_CODES = {
    EXIT_ANSWERED: "the terminal answered, not approved (or a failed operation)",
    EXIT_UNREACHABLE: "the port cannot be opened: the command was never sent",
    EXIT_NO_ANSWER: "sent, but no answer (not even to a status inquiry): ask "
    "`vafa bridge status INVOICE` before charging again",
}
ERRORS = ((MessageError, EXIT_USAGE),)
KEPT = ("sale", "refund", "void", "settlement", "settle", "topup")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
AMOUNT_FIELDS = ("amount", "discount", "fee", "payable", "club_balance", "store_balance")
AMOUNT_FIELDS += ("coupon_discount",)  # a sale with a coupon (docs/ecr.md 3.3)
AMOUNT_FIELDS += ("credit_part", "remainder")  # a split sale's legs (docs/ecr.md 3.6)
LEG_WORDS = {"60": "club credit", "70": "store credit", "40": "bank card", "00": "cash"}
SHOWN = (
    "status_of",
    "response_code",
    "amount",
    "discount",
    "fee",
    "payable",
    "coupon",
    "coupon_discount",
    "coupon_text",
    "coupon_reason",
    "credit_account",
    "credit_part",
    "remainder_account",
    "remainder",
    "points_earned",
    "points_balance",
    "club_balance",
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


def _listen(text):
    """--listen HOST:PORT (port 0: any free one) -> (host, port)."""
    host, colon, port = text.strip().rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765"
        )
    return host.strip("[]") or "127.0.0.1", int(port)


AMOUNT = types.whole("amount", low=1, unit="rials")
INVOICE = types.text("--invoice", 1, 20, printable=True)
CASHIER = types.text("--cashier", 1, 16, printable=True)


def coupon_arg(text):
    """--coupon: the code as the terminal takes it (hostbridge.client.coupon_code)."""
    from hostbridge.client import coupon_code

    try:
        return coupon_code(text)
    except MessageError:
        raise argparse.ArgumentTypeError(
            f"--coupon {text!r}: 4 to 16 letters A-Z and digits 0-9, e.g. NOWRUZ10"
        ) from None


coupon_arg.__name__ = "coupon code"
INVOICE_HELP = "the cashier software's invoice number (default: new)"
CASHIER_HELP = "the cashier's id sent with the command (default $VAFA_CASHIER or 1)"


def _common():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--port", default=os.environ.get("VAFA_ECR_PORT"),
                        help="serial port path, socket://HOST:PORT or loop:// "
                             "(default: $VAFA_ECR_PORT)")  # fmt: skip
    common.add_argument("--baud", type=types.whole("--baud", low=1), default=115200,
                        help="serial line rate (115200)")  # fmt: skip
    common.add_argument("--json", action="store_true", help="print the result as one JSON object")
    common.add_argument("--timeout", type=types.number("--timeout", above=0), default=None,
                        help="seconds to wait for the answer (default: per command), and as "
                             "long again for status inquiries after a lost one")  # fmt: skip
    common.add_argument("--verbose", "-v", action="store_true", help="log the link's events")
    return common


def add_arguments(parser):
    common = _common()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help_text, **kwargs):
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text,
                              **kwargs)  # fmt: skip

    p = command("sale", "a sale: the customer pays `amount` rials with a club card")
    p.add_argument("amount", type=AMOUNT, help="rials, above 0")
    p.add_argument("--invoice", type=INVOICE,
                   help="the cashier software's invoice number (default: new)")  # fmt: skip
    p.add_argument("--cashier", type=CASHIER, default=os.environ.get("VAFA_CASHIER", "1"),
                   help=CASHIER_HELP)  # fmt: skip
    # hostbridge.protocol's METHODS (not imported here: construct only when a command runs)
    p.add_argument("--method", choices=("bank", "club", "store", "cash", "points"), default=None,
                   help="bank card with club discount (default), club credit, store credit, "
                        "cash, the card's points at this store")  # fmt: skip
    p.add_argument("--split", choices=("bank", "cash"), default=None,
                   help="a split sale: club credit (or --method store: store credit) pays "
                        "what it holds, the rest by bank card or in cash")  # fmt: skip
    p.add_argument("--coupon", type=coupon_arg,
                   help="a coupon or campaign code the customer gave "
                        "(4 to 16 letters and digits)")  # fmt: skip
    p.add_argument("--wedge", action="store_true",
                   help="when approved, type the payable into the focused field (X11)")  # fmt: skip
    p.add_argument("--wedge-enter", action="store_true", help="press Enter after it")

    p = command("balance", "the card's points and balances")
    p.add_argument("--cashier", type=CASHIER, default=None,
                   help="the cashier's id sent with the command (default: none)")  # fmt: skip

    p = command("refund", "refund (part of) an earlier purchase")
    p.add_argument("amount", type=AMOUNT, help="rials, above 0")
    p.add_argument("--rrn", required=True, type=types.text("--rrn", 12, 12, printable=True),
                   help="the purchase's RRN (12 characters)")  # fmt: skip
    p.add_argument("--account", choices=("00", "40", "60", "70"), default=None,
                   help="where the money goes back: 00 cash, 40 bank card, 60 club credit "
                        "(default), 70 store credit")  # fmt: skip
    p.add_argument("--invoice", type=INVOICE, default=None, help=INVOICE_HELP)
    p.add_argument("--cashier", type=CASHIER, default=os.environ.get("VAFA_CASHIER", "1"),
                   help=CASHIER_HELP)  # fmt: skip

    p = command("void", "void the terminal's last transaction")
    p.add_argument("--original", type=types.text("--original", 1, 20, printable=True),
                   help="the invoice being voided (checked to be the last)")  # fmt: skip
    p.add_argument("--invoice", type=INVOICE, default=None, help=INVOICE_HELP)
    p.add_argument("--cashier", type=CASHIER, default=os.environ.get("VAFA_CASHIER", "1"),
                   help=CASHIER_HELP)  # fmt: skip

    p = command("status", "what happened to an invoice (after a lost answer)")
    p.add_argument("invoice", type=types.text("invoice", 1, 20, printable=True),
                   help="the invoice number the command was sent with")  # fmt: skip

    p = command("settlement", "end of day: the terminal's totals to the club", aliases=["settle"])
    p.add_argument("--invoice", type=INVOICE, default=None, help=INVOICE_HELP)
    p.add_argument("--cashier", type=CASHIER, default=None,
                   help="the cashier's id sent with the command (default: none)")  # fmt: skip

    p = command("print", "print text on the terminal's printer")
    p.add_argument("text", nargs="+", help="lines (one argument per line; - reads stdin)")

    p = command("show", "show text on the terminal's display")
    p.add_argument("text", nargs="+", help="lines")
    p.add_argument("--seconds", type=types.whole("--seconds", 0, 999), default=None,
                   help="how long the text stays (0..999)")  # fmt: skip

    p = command("topup", "a top-up: cash paid at the counter, credited to the card")
    p.add_argument("amount", type=AMOUNT, help="rials, above 0")
    p.add_argument("--invoice", type=INVOICE, default=None, help=INVOICE_HELP)
    p.add_argument("--cashier", type=CASHIER, default=os.environ.get("VAFA_CASHIER", "1"),
                   help=CASHIER_HELP)  # fmt: skip

    p = command("serve", "a local HTTP/JSON endpoint for browser-based cashier software")
    p.add_argument("--listen", type=_listen, default="127.0.0.1:8765",
                   help="HOST:PORT (127.0.0.1:8765)")  # fmt: skip
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin allowed to call it, e.g. http://localhost:3000 "
                        "(repeatable; requests without an Origin header are allowed)")  # fmt: skip
    p.add_argument("--read-timeout", type=types.number("--read-timeout", above=0), default=5.0,
                   metavar="SECONDS",
                   help="seconds a request has to arrive whole, and its answer to be taken "
                        "(5); a slower connection is closed")  # fmt: skip
    p.add_argument("--max-connections", type=types.whole("--max-connections", low=1),
                   default=32, metavar="N",
                   help="connections served at once (32); one more is answered 503")  # fmt: skip
    p.add_argument("--token-file", type=types.existing_file("--token-file"), metavar="FILE",
                   help="a file holding a bearer token (default: $VAFA_BRIDGE_TOKEN): every "
                        "request but GET /, /openapi.json and /health must then carry "
                        "'Authorization: Bearer TOKEN'; needed to --listen beyond this "
                        "PC")  # fmt: skip
    p.add_argument(
        "--access-log",
        metavar="FILE",
        default=None,
        help="append one line per request to FILE (default: standard error)",
    )


def _call(client, args):
    name = args.command
    if name == "sale":
        args.invoice = args.invoice or new_invoice("sale")
        return client.sale(
            args.amount, args.invoice, args.cashier, args.method, args.coupon, args.split
        )
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
    if args.timeout is not None:  # the whole wait: the answer, then the status inquiries
        timers.response_s = dict.fromkeys(timers.response_s, args.timeout)
        timers.recover_s = args.timeout
        timers.busy_s = min(timers.busy_s, args.timeout)
    log = (lambda text: print("link:", text, file=sys.stderr)) if args.verbose else None

    # a wait a person should know about is said even without -v: no silent minute
    def notice(text):
        print(f"vafa bridge {args.command}: {text}", file=sys.stderr, flush=True)

    return EcrClient(args.port, args.baud, timers, log, notice=notice)


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
    if result.legs:  # a split sale, its void or refund (docs/ecr.md 3.6), in words
        words = " + ".join(f"{LEG_WORDS.get(leg['account'], leg['account'])} {leg['amount']:,}"
                           for leg in result.legs)  # fmt: skip
        print(f"  {'legs':<16} {words}")
    if result.fields.get("club_message"):
        print(f"  {result.fields['club_message']}")
    if result.fields.get("receipt"):
        print("  receipt:")
        for line in result.fields["receipt"].splitlines():
            print("    | " + line)


def _unreached(args, error):
    """The exit status and one line for a command the terminal did not answer: never sent
    (3: the port cannot be opened) or sent without an answer (4)."""
    sent = error.sent is not False
    text = str(error)
    if not sent:
        text += f"; the {args.command} was not sent"
    elif args.command in KEPT and getattr(args, "invoice", None):
        text += (f"; ask before anything is charged again: vafa bridge status {args.invoice} "
                 f"--port {args.port}")  # fmt: skip
    return (EXIT_NO_ANSWER if sent else EXIT_UNREACHABLE), text, sent


def run(args):
    if not args.port:
        raise BadInput("--port is required (or set VAFA_ECR_PORT)", "--port")
    if args.command == "serve":
        return serve(args)
    if getattr(args, "split", None) and args.method in ("bank", "cash", "points"):
        raise BadInput(f"--split {args.split} with --method {args.method}: a split sale pays "
                       "club or store credit first (--method club, the default, or store)",
                       "--split")  # fmt: skip
    if getattr(args, "coupon", None) and args.method == "points":
        raise BadInput("--coupon with --method points: a sale paid with points takes no coupon "
                       "(--method bank, club, store or cash)", "--coupon")  # fmt: skip
    client = _client(args)
    try:
        result = _call(client, args)
    except LinkError as e:
        code, text, sent = _unreached(args, e)
        if args.json:
            json.dump({"command": args.command, "error": text, "kind": type(e).__name__,
                       "sent": sent, "exit_status": code}, sys.stdout)  # fmt: skip
            sys.stdout.write("\n")
        print(f"vafa bridge {args.command}: {text}", file=sys.stderr)
        return code
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


def _token(args):
    """The bearer token as bytes (--token-file, else $VAFA_BRIDGE_TOKEN), or None."""
    from hostbridge.webguard import TOKEN_HINT, token_problem

    if args.token_file:
        where = f"--token-file {args.token_file}"
        try:
            text = Path(args.token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(
                f"{where}: {getattr(e, 'strerror', None) or e}", "--token-file"
            ) from None
    else:
        where, text = "$VAFA_BRIDGE_TOKEN", os.environ.get("VAFA_BRIDGE_TOKEN", "").strip()
        if not text:
            return None
    problem = token_problem(text)
    if problem:
        raise BadInput(f"{where}: {problem}; {TOKEN_HINT}", "--token-file")
    return text.encode("ascii")


def _access_log(path):
    """The access log's writer: one line a call, to stderr or appended to a file."""
    if path is None:
        return lambda line: print(line, file=sys.stderr, flush=True)
    try:
        stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (open while serving)
    except OSError as e:
        raise BadInput(f"--access-log {path}: {e.strerror or e}", "--access-log") from None
    return lambda line: print(line, file=stream, flush=True)


def serve(args):
    from hostbridge.web import make_server

    host, port = args.listen
    token = _token(args)
    if host not in LOOPBACK and token is None:
        raise BadInput(f"--listen {host}: not a loopback address: the endpoint moves money, so "
                       f"another machine may call it only with a token (--token-file FILE or "
                       f"$VAFA_BRIDGE_TOKEN)", "--listen")  # fmt: skip
    access_log = _access_log(args.access_log)
    client = _client(args)
    try:  # fail fast: a wrong --port is said now, not at the first sale
        client.transport.open()
    except LinkError as e:
        raise VafaError(f"{e} (start the bridge once the terminal is on)",
                        exit_code=EXIT_UNREACHABLE) from None  # fmt: skip
    try:
        server = make_server(client, host, port, args.allow_origin, args.port,
                             args.read_timeout, args.max_connections, token,
                             access_log)  # fmt: skip
    except OSError as e:
        client.close()
        raise BadInput(f"--listen {host}:{port}: {e.strerror or e}", "--listen") from None
    guarded = "; bearer token required" if token is not None else ""
    print(f"bridge: http://{server.server_address[0]}:{server.server_port} -> {args.port} "
          f"(page at /, API at /openapi.json{guarded})", flush=True)  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:  # the requests in progress finish (answered and logged), within the read timeout
        server.wait_idle(args.read_timeout)
        server.server_close()
        client.close()
    return EXIT_OK
