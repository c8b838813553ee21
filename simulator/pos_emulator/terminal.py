"""EmulatedTerminal: the real agent engine wired to simulated hardware, as `vafa demo` and
`vafa emulator` run it.

    club = start_demo_club("var/emulator/club.db")           # or a club server of your own
    terminal = EmulatedTerminal("var/emulator/terminal", club.port, card="active")
    terminal.power_up()                                       # recover, then sign on
    terminal.engine.purchase_cash(450_000)                    # the reader presents the persona

Ports: the club link over TCP (agent/links/tcp.py), the bank-leg simulator (simulator/bank),
a card reader that presents one card persona each time a card is asked for, a keypad that
accepts every confirmation and answers enrollment questions, a display that renders the 20x4
text screens, a recording printer (behind a ReceiptTap, so the ECR session can hand receipts
to the cashier's software), the system clock and file storage. The terminal is provisioned
with the demo club's test keys (docs/testing.md "Keys") on first start.

Identity: terminal number n is terminal id VT + n and initial key id 56414641 + n (seed.py);
the merchant id it sends (field 42) is the one the club registered terminal n under
(terminal_merchant: the club's database when the club runs in this process, else the demo
club's table), so terminal 3 sells at the pool and terminal 4 at the bookshop.

Power-up (power_up()) is what a terminal does when switched on: finish unfinished work
(recover), then sign on (docs/protocol.md 5.9); the sign-on's report is kept in `signed_on`.
The club link is a WatchedLink (club_link.py), so a flow that got no answer can say why.

Card personas: for now a persona is an agent.ports.Card built from the seeded card numbers
(simulator/club_server/seed.py), handed to the engine as a read card. The names follow
simulator/cards/personas.py where both have one; switching to those virtual cards (read
through agent/card_io/clubcard.py, as `vafa demo` does) is the next step.
"""

import binascii
import shutil
from pathlib import Path

from agent.display.text import render
from agent.ecr.session import EcrSession, ReceiptTap
from agent.engine import Engine
from agent.links.tcp import TcpClubLink
from agent.ports import Card, RecordingPrinter, ScriptedKeypad, SystemClock
from agent.protocol import aes_cryptography
from agent.protocol.dukpt import TerminalDukpt, derive_initial_key
from agent.storage import FileStorage
from simulator.bank import BankSimulator
from simulator.club_server import seed
from simulator.pos_emulator import club_link

TERMINAL_NUMBER = 1
ENROLLMENT = seed.ENROLLMENT  # the member who enrolls a stock card at its first use
CHIP, SWIPE = "051", "021"

# name -> (what it is, card number, POS entry mode); docs/testing.md "Cards by persona".
PERSONAS = {
    "active": ("active member, tier A, with balances (the default)", seed.CARD_A, CHIP),
    "member-b": ("active member, tier B", seed.CARD_B, CHIP),
    "new-member": ("active member, tier C, no balances", seed.CARD_C, CHIP),
    "low-balance": ("club credit 10,000: club-credit sales above it answer 51", seed.CARD_LOW,
                    CHIP),
    "blocked": ("blocked card: 62", seed.CARD_BLOCKED, CHIP),
    "expired": ("expired card: 54", seed.CARD_EXPIRED, CHIP),
    "prepaid": ("prepaid pool card: a top-up credits 10x", seed.CARD_POOL, CHIP),
    "other-store": ("store credit at the pool only: 57 here", seed.CARD_OTHER_STORE, CHIP),
    "bank": ("bank card linked to the tier A member (swiped)", seed.BANK_CARD_A, SWIPE),
    "stock": ("an unissued card: the first purchase enrolls it", seed.STOCK[0], CHIP),
    "unknown": ("a card the club never issued: 14", seed.UNKNOWN_CARD, CHIP),
    "pin": ("a PIN set (docs/testing.md), swiped: club credit asks for it", seed.CARD_PIN, SWIPE),
    "pin-blocked": ("PIN blocked, swiped: 75", seed.CARD_PIN_BLOCKED, SWIPE),
}  # fmt: skip
DEFAULT_PERSONA = "active"
# What a club remembers a terminal by, so a terminal whose other files are thrown away must
# keep: its DUKPT state (the club refuses a KSN counter it saw) and its STAN (the club takes a
# request with a STAN and field 7 it saw for a copy of that one: docs/protocol.md section 6).
LASTING_BLOBS = ("dukpt", "stan")


def persona_card(name):
    """The persona's card as read; a magic card (magic-05 ..., simulator/cards/catalogue.py)
    by its number, as a chip read."""
    if name in PERSONAS:
        _, pan, entry = PERSONAS[name]
        return Card(pan, None, entry)
    from simulator.cards import catalogue

    return Card(catalogue.number(name), None, CHIP)


class PersonaReader:
    """The card reader: the customer presents the same persona's card whenever asked."""

    def __init__(self, persona=DEFAULT_PERSONA):
        self.persona = persona
        self.reads = 0

    def read(self, timeout_ms=30000):
        if self.persona is None:
            return None
        self.reads += 1
        return persona_card(self.persona)


class ScreenLog:
    """The terminal's display: each screen rendered as a 20x4 text LCD, kept until taken.
    The ECR "show" command's free text (screen "text", param `lines`) is shown as given."""

    def __init__(self):
        self.lines = []

    def show(self, screen, **params):
        if screen == "text":
            lines = [str(line)[:20] for line in params.get("lines") or ()][:4]
            self.lines.append(lines + [""] * (4 - len(lines)))
        else:
            self.lines.append(render(screen, params))

    def take(self):
        lines, self.lines = self.lines, []
        return lines


def provision(storage, number=TERMINAL_NUMBER):
    """The terminal's DUKPT state, provisioned with the demo club's initial key on first use."""
    from simulator.club_server.server import TEST_BDK

    _, ikid_hex = seed.terminal_identity(number)
    dukpt = TerminalDukpt(storage.store("dukpt"))
    if not dukpt.loaded:
        ikid = binascii.unhexlify(ikid_hex)
        dukpt.load_initial_key(derive_initial_key(TEST_BDK, ikid), ikid)
    return dukpt


def terminal_folder(data_dir, number):
    """Where terminal `number` keeps its files under a data directory: `vafa emulator`, its
    scenarios against an outside club and its load mode (load terminals under load/) agree, so
    a terminal number is one terminal to the club whichever of them runs it."""
    if number >= seed.LOAD_TERMINALS_FIRST:
        return Path(data_dir) / "load" / f"terminal-{number}"
    return Path(data_dir) / f"terminal-{number}"


def empty_folder(folder, keep_lasting=False):
    """Delete everything under `folder`; with keep_lasting, the terminals' LASTING_BLOBS stay
    (for an outside club, which remembers them)."""
    folder = Path(folder)
    kept = {}
    if keep_lasting:
        kept = {p: p.read_bytes() for name in LASTING_BLOBS for p in folder.rglob(name)}
    if folder.exists():
        shutil.rmtree(folder)
    for path, data in kept.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def terminal_merchant(number, club=None):
    """(merchant id, store name) the club registered terminal `number` under.

    club: a ServerThread (start_demo_club, run_in_thread) whose database is asked; without one,
    or when it does not know the terminal, the demo club's table (seed.TERMINALS; load
    terminals from seed.LOAD_TERMINALS_FIRST are registered at the demo store, as
    `vafa club-server add-terminals` does by default).
    """
    if club is not None:
        _, ikid = seed.terminal_identity(number)

        def look(store):
            terminal = store.terminal_by_ikid(ikid)
            if terminal is None:
                return None
            merchant = store.merchant(terminal["merchant_id"])
            return terminal["merchant_id"], merchant["name"] if merchant else ""

        found = club.call(look)
        if found is not None:
            return found
    merchant_id = seed.TERMINALS.get(number, (seed.DEMO_MERCHANT,))[0]
    return merchant_id, seed.MERCHANTS.get(merchant_id, ("",))[0]


class EmulatedTerminal:
    """The emulated terminal: the agent's engine wired to simulated hardware.

    merchant: (merchant id, store name) to send; default terminal_merchant(number)."""

    def __init__(
        self,
        root,
        club_port,
        club_host="127.0.0.1",
        card=DEFAULT_PERSONA,
        number=TERMINAL_NUMBER,
        timeout_ms=5000,
        merchant=None,
    ):
        aes_cryptography.install()
        self.number = number
        self.terminal_id, self.ikid = seed.terminal_identity(number)
        self.merchant_id, self.merchant_name = merchant or terminal_merchant(number)
        # the store's Persian name, for Persian receipts (the demo club's table; none: English)
        self.merchant_name_fa = seed.MERCHANTS.get(self.merchant_id, ("", ""))[1]
        self.signed_on = None  # the sign-on's report, once power_up() ran
        self.storage = FileStorage(str(root))
        dukpt = provision(self.storage, number)
        self.screens = ScreenLog()
        self.printer = RecordingPrinter()
        self.tap = ReceiptTap(self.printer)
        self.reader = PersonaReader(card)
        self.bank = BankSimulator(journal_path=str(Path(root) / "bank.jsonl"))
        self.link = club_link.WatchedLink(TcpClubLink(club_host, club_port))
        self.engine = Engine(
            self.link,
            self.bank,
            self.reader,
            ScriptedKeypad(ENROLLMENT),
            self.screens,
            self.tap,
            SystemClock(),
            self.storage,
            {
                "terminal_id": self.terminal_id,
                "merchant_id": self.merchant_id,
                "merchant_name": self.merchant_name,
                "merchant_name_fa": self.merchant_name_fa,
                "storage_key": bytes(range(16)),
                "timeout_ms": timeout_ms,
            },
            dukpt=dukpt,
        )

    def power_up(self):
        """Switched on: finish unfinished work, then sign on (docs/protocol.md 5.9). Returns the
        recovery report (agent/recovery.py); the sign-on's report is kept in `signed_on`."""
        recovered = self.engine.recover()
        self.signed_on = club_link.sign_on(self.engine, self.link, self.number)
        return recovered

    def explain(self, result):
        """Why a flow got no answer from the club, when the link saw it; else None."""
        return club_link.explain(result, self.link)

    def ecr_session(self, runner=None):
        """The ECR session over this terminal's engine (agent/ecr/session.py)."""
        return EcrSession(self.engine, self.storage, runner, receipts=self.tap)

    def bank_declines_next(self, flow):
        self.bank.script.append("decline")
        return flow()

    def receipts(self):
        printed, self.printer.printed = self.printer.printed, []
        return printed

    def close(self):
        self.link.close()


def start_demo_club(db_path, fresh=False, **server_kwargs):
    """The reference club server over a demo database (seeded when new), in a thread: a
    ServerThread with .port and .stop()."""
    from simulator.club_server.server import run_in_thread

    db = Path(db_path)
    if fresh and db.exists():
        db.unlink()
    db.parent.mkdir(parents=True, exist_ok=True)
    seed.seed_demo(str(db))
    return run_in_thread(str(db), **server_kwargs)
