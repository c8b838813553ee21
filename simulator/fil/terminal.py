"""The flashed bundle as a terminal: installed into a VirtualDevice folder with the flashing
code (flashing/install.py), booted by its loader under the unix MicroPython with a capped heap,
its peripherals on sockets served by simulator/fil/endpoints.py, the card a virtual chip card
over vpcd (simulator/cards/vpcd.py: the device listens, as pcscd's vpcd driver does), a
swiped card as track data from the stripe reader's endpoint, the bank leg answered by a
BankSimulator (docs/bank_leg.md "On a device"), the cashier hostbridge's EcrClient over
socket://.

FirmwareTerminal also has what the scenario runner (simulator/pos_emulator/scenario: world.py,
step_actions.py, expectations.py) asks of a terminal: engine.purchase_*(amount) (sent as ECR
sales), engine.refund / void_last / balance / close_day / top_up (the ECR refund, void,
balance, settlement and topup), screens.take(), receipts(), reader.show(card step), keypad
(answers, confirms), bank, terminal_id.
"""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

from agent.card_io.track import build_track2
from agent.ecr import spec
from flashing import install, keys, provision, targets
from flashing.bundle import Bundle
from flashing.device import VirtualDevice
from hostbridge.client import EcrClient
from hostbridge.link import Timers
from simulator.cards import catalogue
from simulator.cards import personas as chip
from simulator.cards.vpcd import VpcdCard
from simulator.club_server import seed
from simulator.fil.endpoints import (
    BankEndpoint,
    KeypadEndpoint,
    LcdEndpoint,
    PrinterEndpoint,
    StripeEndpoint,
)
from simulator.pos_emulator.scenario.card_reader import card_entry, persona_number
from simulator.pos_emulator.terminal import ENROLLMENT

HEAP = 512 * 1024  # -X heapsize, the whole Python heap (threads share it); one sale needs ~440 KB
MAIN = ".fil_main.py"
# a scenario's `terminal:` settings that go into the device's config.json as they are
DEVICE_OPTIONS = ("timeout_ms", "card_wait_ms")
OUTCOMES = {code: outcome for outcome, code in spec.OUTCOMES.items()}
SALE_METHODS = {
    "purchase_cash": "cash",
    "purchase_club_credit": "club",
    "purchase_store_credit": "store",
    "purchase_bank": "bank",
    "purchase_points": "points",  # method P (docs/ecr.md 3.7)
}
# the engine's other flows without an ECR command (docs/ecr.md 3.2 has none for them)
NO_ECR_COMMAND = {
    "sign_on": "network management (0800) is the terminal's own, not a cashier's command",
    "echo": "network management (0800) is the terminal's own, not a cashier's command",
    "pin_change": "a PIN change is the cardholder's own, at the keypad: no ECR command",
}
# a split sale (agent/split.py's account and tender) -> the ECR sale's method and split
SPLIT_METHODS = {"60": "club", "70": "store"}
SPLIT_TENDERS = {"40": "bank", "00": "cash"}
# ECR answer field -> engine result key (agent/ecr/session.py RESULT_KEYS, read back)
RESULT_FIELDS = {"club_balance": "balance_after", "store_balance": "store_credit"}


class FirmwareError(Exception):
    """The device process did not come up (its output is in the message)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CardSlot:
    """The card readers as the scenario runner's `reader`: show(step) inserts the persona's
    virtual chip card over vpcd, or presents a swiped card's track 2 at the stripe reader
    (entry as the scenario's ScenarioReader, scenario/card_reader.py, decides it: a swipe
    persona or a bank card number unless told); {"out": True} takes the card away."""

    def __init__(self, port, stripe):
        self.vpcd = VpcdCard(port=port)
        self.port = port
        self.stripe = stripe

    def insert(self, card):
        self.vpcd.insert(card, connect_timeout=10)

    def remove(self):
        self.vpcd.remove()

    def show(self, step):
        self.remove()
        self.stripe.present(None)
        if step.get("out"):
            return
        persona = step.get("persona")
        number = persona_number(persona) if persona else step.get("number")
        entry = card_entry(persona, number, step.get("entry"))
        if entry == "manual":
            raise ValueError("the device has no manual card entry")
        if entry == "swipe":
            if not number:
                raise ValueError(f"card {persona!r} is a chip card only: it cannot be swiped")
            self.stripe.present(build_track2(number, step.get("expiry")))
            return
        card = catalogue.catalogue().get(persona) if persona else None  # one list of names
        if card is not None and card.chip is not None:
            self.insert(card.chip())
        elif persona is None and step.get("number"):
            self.insert(chip.issued_card(step["number"]))
        else:
            raise ValueError(f"card {persona!r} cannot be a chip card in the device's reader")

    def release(self):
        pass

    def close(self):
        self.remove()


class EcrEngine:
    """The engine as the scenario runner calls it, each flow an ECR command to the device
    (SALE_METHODS and the methods below; NO_ECR_COMMAND says why the others are not);
    pending() and saf.drain() read the queue's length from the device's console
    ("VAFA-QUEUE N"), which its idle loop drains by itself."""

    def __init__(self, terminal):
        self.terminal = terminal
        self.invoices = 0
        self.saf = self

    def balance(self):
        result = self.terminal.command("balance")
        if result.get("balance_after") is not None:  # flows.balance: balance_after = club credit
            result["club_credit"] = result["balance_after"]
        return result

    def refund(self, amount, original_rrn, account):
        return self.terminal.command(
            "refund", amount=amount, original_rrn=original_rrn, account=account
        )

    def void_last(self):
        """ECR void without original_invoice: the device voids its last confirmed transaction;
        voided_flow is the flow of the sale whose RRN the device answers with."""
        result = self.terminal.command("void")
        flow = self.terminal.flows.get(result.get("rrn"))
        if flow is not None:
            result["voided_flow"] = flow
        return result

    def close_day(self):
        return self.terminal.command("settlement")

    def top_up(self, amount):
        return self.terminal.command("topup", amount=amount)

    def pending(self):
        return self.terminal.queued()

    def drain(self, force=False, timeout_s=15.0):
        """Wait for the device's idle loop to empty its queue: True once it is empty."""
        time.sleep(0.3)  # the console line of the last command's queue
        deadline = time.monotonic() + timeout_s
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.pending()

    def purchase_split(self, amount, account, tender, card=None, coupon=None):
        """agent.split.purchase_split over the ECR link: a sale with method C/S and split
        B/K (docs/ecr.md 3.6); the card is the reader's (card must be None)."""
        if card is not None:
            raise ValueError("the device reads the card from its own reader")
        return self.terminal.sale(
            SPLIT_METHODS[account], amount, coupon=coupon, split=SPLIT_TENDERS[tender]
        )

    def __getattr__(self, name):
        if name in SALE_METHODS:
            return lambda amount, coupon=None: self.terminal.sale(
                SALE_METHODS[name], amount, coupon=coupon
            )
        if name in NO_ECR_COMMAND:
            raise AttributeError(f"{name}: {NO_ECR_COMMAND[name]}")
        raise AttributeError(f"{name}: not reachable over the device's ECR port")


class FirmwareTerminal:
    def __init__(
        self, root, club_port, bundle, number=1, heapsize=HEAP, club_host="127.0.0.1", options=None
    ):
        self.root = Path(root)
        self.options = dict(options or {})  # a scenario's terminal: options (timeout_ms)
        self.number = number
        self.heapsize = heapsize
        self.terminal_id, _ = seed.terminal_identity(number)
        self.lcd = LcdEndpoint()
        self.printer = PrinterEndpoint()
        self.keypad = KeypadEndpoint(dict(ENROLLMENT))
        self.stripe = StripeEndpoint()
        self.psp = BankEndpoint()
        self.ecr_port, card_port = free_port(), free_port()
        self.reader = self.card = CardSlot(card_port, self.stripe)
        self.screens = self.lcd
        self.bank = self.psp.bank  # the BankSimulator: script and charges() for the runner
        self.engine = EcrEngine(self)
        self.flows = {}  # RRN -> flow of the sales answered (for a void's voided_flow)
        self.proc = None
        self.ecr = None
        self.log = self.root / "device.log"
        self.setup(bundle)
        try:
            self.flash(club_host, club_port, card_port)
            self.start()
        except BaseException:
            self.close()
            raise

    # -- flashing and booting -------------------------------------------------------------

    def setup(self, bundle):
        """The device before flashing: a VirtualDevice folder for the bundle (a subclass
        that runs other firmware sets up its own)."""
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(Path(bundle))
        self.device = VirtualDevice(self.root / "device", heapsize=self.heapsize)

    def flash(self, club_host, club_port, card_port):
        """Install the bundle and the demo terminal's kit as `vafa flash install` does, then
        the peripherals' configuration and the TEST ONLY issuer master key."""
        test_keys = keys.test_keys()
        kit = provision.write_kit(
            provision.demo_kit(test_keys, self.number, club_host, club_port), self.root / "kit"
        )
        install.install(self.device, targets.get("unix"), self.bundle, kit, test_keys)
        config = json.loads((Path(kit) / "config.json").read_text())
        for key in DEVICE_OPTIONS:  # the scenario's terminal settings, as on the emulated one
            if key in self.options:
                config[key] = self.options[key]
        config["peripherals"] = {
            "display": self.lcd.spec,
            "printer": self.printer.spec,
            "keypad": self.keypad.spec,
            "card": f"listen:127.0.0.1:{card_port}",
            "stripe": self.stripe.spec,
            "bank": self.psp.spec,
            "ecr": f"listen:127.0.0.1:{self.ecr_port}",
        }
        folder = self.device.folder
        (folder / "vafa/config.json").write_text(json.dumps(config))
        (folder / "vafa/keys/imk").write_text(chip.TEST_IMK.hex())

    def start(self, timeout_s=60):
        """Boot the installed bundle (boot.run(serve=True)) and connect the cashier."""
        folder = self.device.folder
        (folder / MAIN).write_text("import boot\nboot.run(serve=True)\n")
        env = dict(os.environ, MICROPYPATH=".:.frozen")
        boots = self.output().count("VAFA-READY")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.device.command(MAIN, self.heapsize),
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout_s
        while self.output().count("VAFA-READY") == boots:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise FirmwareError("the device did not start:\n" + self.output()[-2000:])
            time.sleep(0.05)
        self.ecr = EcrClient(f"socket://127.0.0.1:{self.ecr_port}", timers=Timers(busy_s=0))

    def queued(self):
        """The device's store-and-forward queue length, as its console last reported it."""
        lines = [x for x in self.output().splitlines() if x.startswith("VAFA-QUEUE ")]
        return int(lines[-1].split()[1]) if lines else 0

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self):
        """Power off: the process ends at once (kill), whatever it was doing."""
        if self.ecr is not None:
            self.ecr.close()
            self.ecr = None
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def restart(self):
        self.stop()
        self.start()
        return {"actions": []}

    # -- the cashier ----------------------------------------------------------------------

    def next_invoice(self):
        self.engine.invoices += 1
        return f"FIL-{self.engine.invoices:04d}"

    def sale(self, method, amount, invoice=None, cashier="01", coupon=None, split=None):
        """One ECR sale; the answer as the engine's result dict (docs/terminal.md keys)."""
        invoice = invoice or self.next_invoice()
        answer = self.ecr.sale(
            amount, invoice=invoice, cashier=cashier, method=method, coupon=coupon, split=split
        )
        result = engine_result(answer.fields, answer.legs)
        if result.get("rrn"):
            self.flows[result["rrn"]] = result.get("flow")
        return result

    def command(self, name, cashier="01", **fields):
        """One ECR balance, refund, void, settlement or topup (hostbridge EcrClient's method of
        that name); the answer as the engine's result dict."""
        call = getattr(self.ecr, name)
        if name == "balance":
            return engine_result(call(cashier=cashier).fields)
        answer = call(invoice=self.next_invoice(), cashier=cashier, **fields)
        return engine_result(answer.fields, answer.legs)

    def receipts(self):
        return self.printer.take()

    def close(self):
        self.stop()
        self.card.close()
        for endpoint in (self.lcd, self.printer, self.keypad, self.stripe, self.psp):
            endpoint.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def engine_result(fields, legs=()):
    """An ECR answer's fields back as the engine's result keys (outcome, response_code...);
    legs: a split sale's (hostbridge Result.legs, the engine's shape)."""
    out = {"outcome": OUTCOMES.get(fields.get("result"), "failed"), "ecr": dict(fields)}
    if legs or fields.get("flow") == "split":  # a split sale has legs, none when not paid
        out["legs"] = list(legs)
    for name, value in fields.items():
        out[RESULT_FIELDS.get(name, name)] = value
    out.setdefault("response_code", None)
    card = fields.get("card") or ""
    if card.startswith("****"):
        out["card_last4"] = card[4:]
    if "confirmed" in fields:  # docs/ecr.md tag 3C: Y the club acknowledged phase two
        out["confirmed"] = fields["confirmed"] == "Y"
    return out


def firmware_factory(bundle, heapsize=HEAP):
    """A terminal factory for the scenario runner: each scenario copy gets the bundle flashed
    into a fresh device folder, talking to that scenario's club."""
    bundle = bundle if isinstance(bundle, Bundle) else Bundle(Path(bundle))

    def make(copy):
        options = copy.world.scenario.terminal
        return FirmwareTerminal(
            copy.root, copy.port, bundle, copy.number, heapsize, options=options
        )

    return make
