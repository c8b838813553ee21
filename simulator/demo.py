"""`vafa demo`: every club flow, end to end, on this machine.

A fresh SQLite club in a data directory, seeded with the demo club (docs/testing.md); the
reference club server on TCP loopback; an emulated terminal (the real agent engine with file
storage and its own DUKPT key) paying through the bank-leg simulator. Each flow shows its
screens and receipts as text; the run ends with a summary and the club's ledger check.

    vafa demo                          # its own fresh club, then the ledger check
    vafa demo --club 10.0.0.5:8583     # the same flows against an outside club

An outside club (--club) must hold the demo seed (`vafa club-server seed-demo`: terminal 1 at
VAFA00000000001, the cards of docs/testing.md) and the test BDK. Its database is not here, so
the ledger check is skipped (run `vafa club-server ledger-check --db PATH` where it is) and the
exit status says whether the club signed the terminal on and answered every flow. The
terminal's DUKPT state and STAN are kept in --data-dir between runs (everything else there is
emptied): that club remembers the last KSN counter of terminal 1 (and refuses a replayed one)
and its recent STANs (a request with a STAN and field 7 it saw is taken for a copy). A bad
--club (not HOST:PORT, or nothing accepts a connection there) is one line and exit 2.
"""

import binascii
import contextlib
import json
import sys
from pathlib import Path

from agent.card_io.clubcard import ClubCardReader
from agent.display.text import render
from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import Card, RecordingPrinter, ScriptedKeypad, SystemClock
from agent.protocol import aes_cryptography
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import FileStorage
from simulator.bank import BankSimulator
from simulator.cards import pcscd, personas
from simulator.cards.slots import open_slot
from simulator.club_server import seed
from simulator.club_server.ledger import ledger_check
from simulator.club_server.outcomes import magic_card
from simulator.club_server.server import TEST_BDK, run_in_thread
from simulator.pos_emulator import club_link
from simulator.pos_emulator.club_link import ClubAddressError, parse_club, probe_club
from simulator.pos_emulator.terminal import empty_folder, terminal_merchant
from vafa.errors import BadInput

DEFAULT_DATA_DIR = "var/demo"
TERMINAL_NUMBER = 1
# The member who enrolls at the demo's first purchase with a card from the club's stock.
ENROLLMENT = seed.ENROLLMENT
SUMMARY_KEYS = ("points_earned", "balance_after", "stan")


class ScreenLog:
    """The terminal's display: each screen rendered as a 20x4 text LCD, kept per flow."""

    def __init__(self):
        self.lines = []

    def show(self, screen, **params):
        self.lines.append(render(screen, params))

    def take(self):
        lines, self.lines = self.lines, []
        return lines


class ShownKeypad(ScriptedKeypad):
    """The scripted keypad (it accepts), which first shows each question's screen: the demo's
    output has what the customer and the cashier are asked (a split's legs, the cash)."""

    def __init__(self, answers, screens):
        super().__init__(answers)
        self.screens = screens

    def confirm(self, screen, **params):
        self.screens.show(screen, **params)
        return super().confirm(screen, **params)


def swipe(pan):
    return Card(pan, None, "021")


# The demo's script: (title, call on the Terminal). Cards come from the seeded demo club
# (simulator/club_server/seed.py). t.chip(pan) inserts a virtual club card with that number
# (simulator/cards) and returns None, so the engine reads it through ClubCardReader: SELECT,
# READ CARD DATA, INTERNAL AUTHENTICATE, as on a terminal.
def script(state):
    return [
        ("Sign-on", sign_on),
        ("Bank-card purchase with club discount", lambda t: t.engine.purchase_bank(
            1_200_000, swipe(seed.BANK_CARD_A))),
        ("Club-credit purchase", lambda t: keep_rrn(state, t.engine.purchase_club_credit(
            300_000, t.chip(seed.CARD_A)))),
        ("Store-credit purchase", lambda t: t.engine.purchase_store_credit(
            100_000, t.chip(seed.CARD_A))),
        ("Cash purchase earning points", lambda t: t.engine.purchase_cash(
            450_000, t.chip(seed.CARD_B))),
        ("Balance inquiry", lambda t: t.engine.balance(t.chip(seed.CARD_A))),
        ("Top-up of a prepaid pool card (x10)", lambda t: t.engine.top_up(
            200_000, t.chip(seed.CARD_POOL))),
        ("Refund of part of the club-credit purchase", lambda t: refund_kept(
            t, state, 50_000)),
        ("Enrollment at the first purchase", lambda t: t.engine.purchase_cash(
            250_000, t.chip(seed.STOCK[0]))),
        ("Bank leg declines: the club discount is reversed", lambda t: t.bank_declines_next(
            lambda: t.engine.purchase_bank(700_000, swipe(seed.BANK_CARD_A)))),
        ("Blocked card", lambda t: t.engine.purchase_club_credit(
            90_000, t.chip(seed.CARD_BLOCKED))),
        ("Void of the last transaction", lambda t: t.engine.void_last()),
        ("Club credit with coupon code NOWRUZ10", coupon_sale),
        ("Club credit with the cardholder's PIN (card keyed in)", pin_sale),
        ("Split: club credit first, the rest by bank card", split_sale),
        ("End of day: reconciliation", lambda t: t.engine.close_day()),
    ]  # fmt: skip


SPLIT_CARD = magic_card("10")  # club credit always short (docs/testing.md)


def sign_on(terminal):
    """The sign-on; when it fails, the message says what happened (club_link.sign_on)."""
    res = club_link.sign_on(terminal.engine, terminal.link, TERMINAL_NUMBER)
    if res["outcome"] == "approved":
        res["message"] = ""  # the result line says it already
    return res


def pin_sale(terminal):
    """Club credit needs the cardholder's PIN (docs/protocol.md 4.5): the club answers 55 R,
    the member types the seeded card's PIN on the keypad (masked), the 0100 goes again with
    field 52. Shown as flow "pin"."""
    terminal.engine.keypad.pins = [seed.DEMO_PIN]
    res = terminal.engine.purchase_club_credit(250_000, Card(seed.CARD_PIN, None, "012"))
    res["flow"] = "pin"
    return res


def coupon_sale(terminal):
    """The cashier keys in a coupon code (docs/protocol.md 5.10): the club's 10 % comes after
    the tier discount, inside D1, with its words on the screen and the receipt. Shown as flow
    "coupon"."""
    res = terminal.engine.purchase_club_credit(
        500_000, terminal.chip(seed.CARD_A), coupon="NOWRUZ10"
    )
    res["flow"] = "coupon"
    return res


def split_sale(terminal):
    """Split payment (docs/protocol.md 5.11) with the outcome table's short-credit card
    (docs/testing.md: the club sees 100,000 rials of its club credit, run after run): the club
    answers 10 holding those 100,000, the member accepts the split and pays the rest on the
    bank leg. Flow "split", with its legs."""
    return terminal.engine.purchase_split(1_000_000, "60", "40", terminal.chip(SPLIT_CARD))


def keep_rrn(state, result):
    state["rrn"] = result["rrn"]
    return result


def refund_kept(terminal, state, amount):
    """Refund part of the kept purchase; when that purchase failed there is nothing to refund."""
    if not state.get("rrn"):
        return {"flow": "refund", "outcome": "failed", "response_code": None, "amount": amount,
                "message": "No approved purchase to refund"}  # fmt: skip
    return terminal.engine.refund(amount, state["rrn"], "60", terminal.chip(seed.CARD_A))


class Terminal:
    """The emulated terminal: the agent's engine wired to simulated hardware.

    merchant: (merchant id, store name) the club registered terminal 1 under."""

    def __init__(self, root, port, card_path="inprocess", host="127.0.0.1", merchant=None):
        terminal_id, ikid_hex = seed.terminal_identity(TERMINAL_NUMBER)
        merchant_id, merchant_name = merchant or terminal_merchant(TERMINAL_NUMBER)
        self.storage = FileStorage(str(root))
        dukpt = TerminalDukpt(self.storage.store("dukpt"))
        if not dukpt.loaded:  # provisioning: the club's initial key for this terminal
            ikid = binascii.unhexlify(ikid_hex)
            dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
        self.screens = ScreenLog()
        self.printer = RecordingPrinter()
        self.bank = BankSimulator(journal_path=str(Path(root) / "bank.jsonl"))
        self.link = club_link.WatchedLink(TcpClubLink(host, port))
        self.slot = open_slot(card_path)  # where the virtual club cards go
        self.engine = Engine(
            self.link,
            self.bank,
            ClubCardReader(self.slot.reader, personas.TEST_IMK),
            ShownKeypad(ENROLLMENT, self.screens),
            self.screens,
            self.printer,
            SystemClock(),
            self.storage,
            {
                "terminal_id": terminal_id,
                "merchant_id": merchant_id,
                "merchant_name": merchant_name,
                "merchant_name_fa": seed.MERCHANTS.get(merchant_id, ("", ""))[1],
                "storage_key": bytes(range(16)),
                "timeout_ms": 5000,
            },
            dukpt=dukpt,
        )

    def chip(self, pan):
        """Insert a virtual club card with this number; the engine reads it (card=None)."""
        self.slot.insert(personas.issued_card(pan))

    def take_card(self):
        self.engine.reader.release()
        self.slot.remove()

    def bank_declines_next(self, flow):
        self.bank.script.append("decline")
        return flow()

    def receipts(self):
        printed, self.printer.printed = self.printer.printed, []
        return printed


def summary_row(title, res):
    return {
        **{key: res[key] for key in COUPON_KEYS if key in res},  # a sale with a coupon
        **({"legs": res["legs"]} if res.get("legs") else {}),  # a split sale (agent/split.py)
        "title": title,
        "flow": res.get("flow"),
        "outcome": res.get("outcome"),
        "response_code": res.get("response_code"),
        "amount": res.get("amount"),
        "discount": res.get("discount"),
        "fee": res.get("fee"),
        "payable": res.get("payable"),
        "points_earned": res.get("points_earned"),
        "balance_after": res.get("balance_after"),
        "stan": res.get("stan"),
        "rrn": res.get("rrn"),
        "card": ("*" + res["card_last4"]) if res.get("card_last4") else None,
        "message": res.get("message"),
    }


COUPON_KEYS = ("coupon", "coupon_discount", "coupon_text", "coupon_reason")


def card_path_for(wanted, out=print):
    """The card path: "pcsc" when asked and pcscd (with vpcd and pyscard) is there, else
    "inprocess"."""
    if wanted != "pcsc":
        return "inprocess"
    missing = pcscd.missing_parts()
    if missing or not pcscd.running():
        why = f"missing {', '.join(missing)}" if missing else "pcscd is not running"
        out(f"note: --card pcsc asked, but {why}; using the in-process card")
        return "inprocess"
    return "pcsc"


def fresh_data_dir(data_dir, keep_lasting):
    """Empty data_dir, keeping the terminal's DUKPT state and STAN when asked (an outside club
    remembers them); the terminal's folder."""
    empty_folder(data_dir, keep_lasting)
    terminal_dir = data_dir / "terminal"
    terminal_dir.mkdir(parents=True, exist_ok=True)
    return terminal_dir


def run_demo(data_dir, out=print, card="inprocess", club=None):
    """Run the whole script; return the JSON-able report. club: (host, port) of an outside
    club to run against instead of a fresh local one (ClubAddressError when nothing accepts a
    connection there)."""
    data_dir = Path(data_dir)
    if club is not None:
        probe_club(*club)
    terminal_dir = fresh_data_dir(data_dir, keep_lasting=club is not None)
    db = str(data_dir / "club.db")
    aes_cryptography.install()
    transactions = []
    with contextlib.ExitStack() as stack:
        if club is None:
            seed.seed_demo(db)
            server = stack.enter_context(run_in_thread(db))
            host, port = "127.0.0.1", server.port
            out(f"club server on 127.0.0.1:{port}, database {db}")
        else:
            server = None
            host, port = club
            out(f"club: {host}:{port} (outside club: it must hold the demo seed; the ledger "
                f"check is skipped)")  # fmt: skip
        card_path = card_path_for(card, out)
        merchant = terminal_merchant(TERMINAL_NUMBER, server)
        terminal = Terminal(terminal_dir, port, card_path, host, merchant)
        how = "through pcscd (vpcd)" if card_path == "pcsc" else "in process"
        out(f"club cards: virtual, read {how} (SELECT, READ CARD DATA, INTERNAL AUTHENTICATE)")
        recovered = terminal.engine.recover()
        out(f"terminal {seed.terminal_identity(TERMINAL_NUMBER)[0]} at merchant {merchant[0]} "
            f"started; unfinished work found: {len(recovered['actions'])}")  # fmt: skip
        state = {}
        unanswered = 0
        for n, (title, call) in enumerate(script(state), 1):
            terminal.link.forget()
            try:
                res = call(terminal)
            finally:
                terminal.take_card()
            out("")
            out(f"== {n}. {title} ==")
            for screen in terminal.screens.take():
                out(box(screen))
            for receipt in terminal.receipts():
                out("\n".join("    | " + line for line in receipt))
            out(result_line(res))
            why = terminal.link.problem and res.get("response_code") is None
            if why:
                unanswered += 1
                out(f"   why: {terminal.link.problem}")
            transactions.append(summary_row(title, res))
            if res.get("flow") == "sign_on" and res.get("outcome") != "approved":
                out("the club did not sign the terminal on: nothing else was run")
                break
        terminal.link.close()
        terminal.slot.close()
        charged = terminal.bank.charged_total()
    signed_on = bool(transactions) and transactions[0]["outcome"] == "approved"
    out("")
    out(summary_table(transactions))
    out(f"bank leg charged {charged:,} rials in total")
    if club is None:
        ledger = ledger_check(db)
        ledger_ok, findings = ledger.ok, ledger.findings
        out(str(ledger))
        ok = ledger_ok and signed_on
    else:
        ledger_ok, findings = None, []
        out("ledger check: skipped: the outside club's database is not here; run "
            "`vafa club-server ledger-check --db PATH` where it is")  # fmt: skip
        ok = signed_on and not unanswered
        out(f"club {host}:{port}: sign-on {'approved' if signed_on else 'refused'}; "
            f"{unanswered} flow(s) without an answer")  # fmt: skip
    return {
        "data_dir": str(data_dir),
        "club": f"{host}:{port}",
        "outside_club": club is not None,
        "transactions": transactions,
        "bank_charged_total": charged,
        "card_path": card_path,
        "signed_on": signed_on,
        "unanswered": unanswered,
        "ledger_ok": ledger_ok,
        "ledger_findings": findings,
        "ok": ok,
    }


def box(lines):
    width = max(len(line) for line in lines) if lines else 0
    edge = "    +" + "-" * (width + 2) + "+"
    return "\n".join([edge, *(f"    | {line:<{width}} |" for line in lines), edge])


def result_line(res):
    parts = [f"-> {res.get('outcome')} ({res.get('response_code')})"]
    for key in ("amount", "discount", "fee", "payable", *SUMMARY_KEYS):
        if res.get(key) not in (None, 0):
            value = res[key]
            parts.append(f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}")
    if res.get("legs"):  # a split sale's: "legs 60 2,000,000 + 40 705,000"
        legs = " + ".join(f"{leg['account']} {leg['amount']:,}" for leg in res["legs"])
        parts.append(f"legs {legs}")
    if res.get("message"):
        parts.append(f"- {res['message']}")
    return "  ".join(parts)


def summary_table(rows):
    head = f"{'#':>2}  {'flow':<13} {'outcome':<9} {'code':<4} {'amount':>10} {'disc.':>8} "
    head += f"{'payable':>10} "
    head += f"{'points':>6} {'balance':>10}"
    lines = ["Summary", head, "-" * len(head)]
    for n, r in enumerate(rows, 1):
        lines.append(
            f"{n:>2}  {(r['flow'] or '')[:13]:<13} {(r['outcome'] or '')[:9]:<9} "
            f"{r['response_code'] or '--':<4} "
            f"{_num(r['amount']):>10} {_num(r['discount']):>8} {_num(r['payable']):>10} "
            f"{_num(r['points_earned']):>6} {_num(r['balance_after']):>10}"
        )
    return "\n".join(lines)


def _num(value):
    return f"{value:,}" if isinstance(value, int) else "-"


def add_arguments(parser):
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help=f"where the club database and terminal files go; emptied first "
                             f"(default: {DEFAULT_DATA_DIR})")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object, no text")
    parser.add_argument("--club", metavar="HOST:PORT",
                        help="run the flows against this outside club instead of a fresh local "
                             "one; it must hold the demo seed (vafa club-server seed-demo); the "
                             "ledger check is then skipped")  # fmt: skip
    parser.add_argument(
        "--card",
        choices=("inprocess", "pcsc"),
        default="inprocess",
        help="club cards in process (default), or through pcscd when it runs",
    )


def run(args):
    """Exit 0 when the run is good (local club: signed on and the ledger check passes; outside
    club: signed on and every flow answered), 1 when not, 2 for a bad --club."""
    try:
        club = parse_club(args.club) if args.club else None
        out = (lambda *a: None) if args.json else print
        report = run_demo(args.data_dir, out=out, card=args.card, club=club)
    except ClubAddressError as e:  # one line, exit 2, and JSON with --json (vafa/cli.py)
        raise BadInput(str(e), "--club") from None
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return 0 if report["ok"] else 1
