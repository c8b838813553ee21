"""`vafa demo`: every club flow, end to end, on this machine.

A fresh SQLite club in a data directory, seeded with the demo club (docs/testing.md); the
reference club server on TCP loopback; an emulated terminal (the real agent engine with file
storage and its own DUKPT key) paying through the bank-leg simulator. Each flow shows its
screens and receipts as text; the run ends with a summary and the club's ledger check.
"""

import binascii
import json
import shutil
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
from simulator.club_server.server import TEST_BDK, run_in_thread

DEFAULT_DATA_DIR = "var/demo"
TERMINAL_NUMBER = 1
# The member who enrolls at the demo's first purchase with a card from the club's stock.
ENROLLMENT = {"phone": "09121112233", "gender": "F", "birth_date": "19900321", "education": "4"}
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
        ("End of day: reconciliation", lambda t: t.engine.close_day()),
    ]  # fmt: skip


def sign_on(terminal):
    code = terminal.engine.sign_on()
    outcome = "approved" if code == "00" else "declined"
    return {"flow": "sign_on", "response_code": code, "outcome": outcome, "amount": 0}


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
    """The emulated terminal: the agent's engine wired to simulated hardware."""

    def __init__(self, root, port, card_path="inprocess"):
        terminal_id, ikid_hex = seed.terminal_identity(TERMINAL_NUMBER)
        self.storage = FileStorage(str(root))
        dukpt = TerminalDukpt(self.storage.store("dukpt"))
        if not dukpt.loaded:  # provisioning: the club's initial key for this terminal
            ikid = binascii.unhexlify(ikid_hex)
            dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
        self.screens = ScreenLog()
        self.printer = RecordingPrinter()
        self.bank = BankSimulator(journal_path=str(Path(root) / "bank.jsonl"))
        self.link = TcpClubLink("127.0.0.1", port)
        self.slot = open_slot(card_path)  # where the virtual club cards go
        self.engine = Engine(
            self.link,
            self.bank,
            ClubCardReader(self.slot.reader, personas.TEST_IMK),
            ScriptedKeypad(ENROLLMENT),
            self.screens,
            self.printer,
            SystemClock(),
            self.storage,
            {
                "terminal_id": terminal_id,
                "merchant_id": seed.DEMO_MERCHANT,
                "merchant_name": seed.MERCHANTS[seed.DEMO_MERCHANT][0],
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


def run_demo(data_dir, out=print, card="inprocess"):
    """Run the whole script; return the JSON-able report."""
    data_dir = Path(data_dir)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    (data_dir / "terminal").mkdir(parents=True)
    db = str(data_dir / "club.db")
    aes_cryptography.install()
    seed.seed_demo(db)
    transactions = []
    with run_in_thread(db) as club:
        out(f"club server on 127.0.0.1:{club.port}, database {db}")
        card_path = card_path_for(card, out)
        terminal = Terminal(data_dir / "terminal", club.port, card_path)
        how = "through pcscd (vpcd)" if card_path == "pcsc" else "in process"
        out(f"club cards: virtual, read {how} (SELECT, READ CARD DATA, INTERNAL AUTHENTICATE)")
        recovered = terminal.engine.recover()
        out(f"terminal {seed.terminal_identity(TERMINAL_NUMBER)[0]} started; "
            f"unfinished work found: {len(recovered['actions'])}")  # fmt: skip
        state = {}
        for n, (title, call) in enumerate(script(state), 1):
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
            transactions.append(summary_row(title, res))
        terminal.link.close()
        terminal.slot.close()
        charged = terminal.bank.charged_total()
    report = ledger_check(db)
    out("")
    out(summary_table(transactions))
    out(f"bank leg charged {charged:,} rials in total")
    out(str(report))
    return {
        "data_dir": str(data_dir),
        "transactions": transactions,
        "bank_charged_total": charged,
        "card_path": card_path,
        "ledger_ok": report.ok,
        "ledger_findings": report.findings,
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
    parser.add_argument(
        "--card",
        choices=("inprocess", "pcsc"),
        default="inprocess",
        help="club cards in process (default), or through pcscd when it runs",
    )


def run(args):
    if args.json:
        report = run_demo(args.data_dir, out=lambda *a: None, card=args.card)
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        report = run_demo(args.data_dir, card=args.card)
    return 0 if report["ledger_ok"] else 1
