"""The transaction engine: pure logic driven through the ports handed to its constructor.

    engine = Engine(link, bank, reader, keypad, display, printer, clock, storage, config)
    engine.recover()                     # always first: finishes what a power cut left open
    result = engine.purchase_bank(1200000)

Ports: agent/ports.py. config (a dict):
    terminal_id   8 characters, as registered with the club (field 62 tag 03)
    merchant_id   up to 15 characters (field 42)
    storage_key   16 bytes: seals card numbers at rest (agent/vault.py)
    merchant_name optional, printed on receipts
    merchant_name_fa  optional, the store's Persian name: printed on Persian receipts
    timeout_ms    response timer, default 10000; repeats: 0101 repeats, default 1
    utc_offset_s  local time for fields 12/13 and receipts, default Tehran (+03:30)
    compact_bytes journal size that triggers compaction when idle, default 8192
    confirm_deadline_s  seconds from a 0100 to the last moment phase two may start, default
                  600 (inside the club's 15-minute hold window; agent/steps.py)
    card_wait_ms  how long a flow waits for a card before "no card", default 30000
The DUKPT state lives in the storage blob "dukpt" (provisioned with load_initial_key) unless a
TerminalDukpt is handed in. The flows are in agent/flows.py; each returns a result dict
(docs/terminal.md "Results").
"""

from agent import flows, recovery, steps
from agent.club import ClubClient, StanCounter
from agent.ledger import Ledger
from agent.ports import default_rng
from agent.protocol import messages as m
from agent.protocol.dukpt import TerminalDukpt
from agent.saf import Saf
from agent.storage import BlobStore
from agent.timeutil import TEHRAN_OFFSET_S
from agent.vault import Vault

COMPACT_BYTES = 8192
# recovery.finish_open's action -> (outcome, steps.MESSAGES key, 0420 reason) of a flow that an
# error ended (Engine._run): a charge the bank leg confirms is confirmed, not reversed
OUTCOME_AFTER_ERROR = {
    "confirmed": (steps.APPROVED, "error_confirmed", None),
    "reversed": (steps.REVERSED, "terminal_error", "ER"),
    "closed": (steps.FAILED, "error_closed", None),
}


class Engine:
    def __init__(
        self,
        link,
        bank,
        reader,
        keypad,
        display,
        printer,
        clock,
        storage,
        config,
        dukpt=None,
        rng=None,
    ):
        self.bank = bank
        self.reader = reader
        self.keypad = keypad
        self.display = display
        self.printer = printer
        self.clock = clock
        self.storage = storage
        self.config = config
        self.terminal_id = config["terminal_id"]
        self.offset_s = config.get("utc_offset_s", TEHRAN_OFFSET_S)
        self.compact_bytes = config.get("compact_bytes", COMPACT_BYTES)
        if dukpt is None:
            dukpt = TerminalDukpt(BlobStore(storage, "dukpt"))
        self.dukpt = dukpt
        self.rng = rng or default_rng  # the PIN field's random fill, the vault's IVs
        self.vault = Vault(config["storage_key"], self.rng)
        self.stans = StanCounter(storage)
        self.club = ClubClient(
            link,
            dukpt,
            clock,
            self.terminal_id,
            config["merchant_id"],
            config.get("timeout_ms", 10000),
            config.get("repeats", 1),
        )
        self.ledger = Ledger(storage)
        self.saf = Saf(self.ledger, self.club, clock, self.vault)
        self.recovered = None  # the report of recover(), once it ran

    # -- life cycle ------------------------------------------------------------------------

    def recover(self):
        """Replay the journal and finish unfinished work (agent/recovery.py); run it first."""
        self.recovered = recovery.recover(self)
        return self.recovered

    def idle(self):
        """Call from the idle loop: sends queued items when their backoff is over; returns the
        number still queued."""
        self._ready()
        if self.saf.due():
            self.saf.drain()
        self.maybe_compact()
        return len(self.saf)

    def close(self):
        """A clean stop: the journal's deferred records made durable (agent/ledger.py), so the
        next power-up does not send the last completion again as a repeat."""
        self.ledger.flush()

    def maybe_compact(self):
        if self.ledger.journal.size > self.compact_bytes and not self.ledger.open:
            self.ledger.compact()

    def pending(self):
        return len(self.saf)

    def parked(self):
        return list(self.ledger.parked)

    def requeue_parked(self):
        return self.saf.requeue_parked()

    def receipt_header(self):
        return {
            "merchant_name": self.config.get("merchant_name", ""),
            "merchant_name_fa": self.config.get("merchant_name_fa", ""),
            "merchant_id": self.config["merchant_id"],
            "terminal_id": self.terminal_id,
            "time": self.clock.now(),
            "offset_s": self.offset_s,
        }

    def _ready(self):
        if self.recovered is None:
            self.recover()

    def _run(self, flow, *args):
        """Run a flow; an error that escapes it after phase one costs no held money.

        The open transaction is finished at once as a restart would (agent/recovery.py: the
        bank leg's status decides when it was asked, else a 0420 with reason ER), the queue is
        drained, and the flow's result says so (docs/terminal.md "Errors inside a flow"). An
        error before any 0100 left holds nothing and is raised as it is.
        """
        self._ready()
        try:
            return flow(self, *args)
        except Exception as e:
            if not self.ledger.open:
                raise
            return self._abandon(e)

    def _abandon(self, error):
        res = None
        for entry in list(self.ledger.open):
            action, stan = recovery.finish_open(self, entry, "ER", None, "error")
            res = steps.new_result(entry["txn"]["flow"], entry["txn"]["amt"])
            res["stan"] = stan
            res["card_last4"] = entry["txn"].get("card")
            if entry["pay"] is not None:  # what the customer paid (a split: both legs)
                res["payable"] = entry["pay"].get("paid", entry["pay"]["amt"])
            res["outcome"], key, res["reason"] = OUTCOME_AFTER_ERROR[action]
            res["message"] = steps.MESSAGES[key]
        self.saf.drain(force=True)
        res["error"] = type(error).__name__ + ": " + str(error)
        if res["reason"]:
            self.display.show("reversed", reason=res["reason"])
        elif res["outcome"] == steps.APPROVED:
            self.display.show("approved", payable=res["payable"], confirmed=True)
        else:
            self.display.show("declined", code="", message=res["message"])
        return res

    # -- flows (agent/flows.py) --------------------------------------------------------------

    # coupon: a coupon or campaign code the cashier keyed in (docs/protocol.md 5.10)

    def purchase_bank(self, amount, card=None, coupon=None):
        return self._run(flows.purchase_bank, amount, card, coupon)

    def purchase_club_credit(self, amount, card=None, coupon=None):
        return self._run(flows.purchase_credit, amount, m.ACCOUNT_CLUB_CREDIT, card, coupon)

    def purchase_store_credit(self, amount, card=None, coupon=None):
        return self._run(flows.purchase_credit, amount, m.ACCOUNT_STORE_CREDIT, card, coupon)

    def purchase_split(self, amount, account, tender, card=None, coupon=None):
        """Credit (account 60/70) first, the remainder by tender 40 (bank) or 00 (cash)."""
        from agent import split  # only for a split sale (heap)

        return self._run(split.purchase_split, amount, account, tender, card, coupon)

    def purchase_points(self, amount, card=None):
        return self._run(flows.purchase_points, amount, card)

    def purchase_cash(self, amount, card=None, coupon=None):
        return self._run(flows.purchase_cash, amount, card, coupon)

    def balance(self, card=None):
        return self._run(flows.balance, card)

    def top_up(self, amount, card=None):
        return self._run(flows.top_up, amount, card)

    def refund(self, amount, original_rrn, account=m.ACCOUNT_CLUB_CREDIT, card=None):
        return self._run(flows.refund, amount, original_rrn, account, card)

    def pin_change(self, card=None):
        from agent import pinchange  # only for a PIN change (heap)

        return self._run(pinchange.pin_change, card)

    def void_last(self):
        return self._run(flows.void_last)

    def close_day(self):
        from agent import closing  # once a day (heap)

        return self._run(closing.close_day)

    def sign_on(self):
        self._ready()
        return flows.network(self, m.NETWORK_SIGN_ON)

    def echo(self):
        self._ready()
        return flows.network(self, m.NETWORK_ECHO)
