"""Store and forward: the persistent, ordered queue of confirmations (0220) and reversals (0420).

Rules (docs/protocol.md 5.7, docs/terminal.md "Store and forward"):
- An item is written to the journal (a "q" record, synced) before it is first sent. Every later
  send is a repeat (0221 / 0421), and so is every send after a restart: an item read back from
  the journal counts as sent (agent/ledger.py), as the terminal cannot know whether its first
  send left before the cut, so the first send needs no record of its own (journals of earlier
  versions have a "qs" record for it). Every send has a new KSN; the other fields, field 7 and
  the STAN included, never change, so the host recognises repeats (docs/protocol.md section 6).
- Strictly in order: only the head is sent; the items behind it wait.
- An item leaves the queue only on a verified response (a "qd" record) that completes it, by
  the table below, or when it is parked (a "qp" record) by the give-up policy. A "qd" reaches
  flash with the next synced record: lost at a cut, the item is sent again, as a repeat, and
  the host answers it as the first time.
- Retries back off exponentially: BACKOFF_MS after the first failure, doubling up to
  BACKOFF_CAP_MS. The engine forces one attempt regardless of the timer before a sale and
  before the end-of-day close (the queue must be empty for them to start).

Response code table (field 39 of the 0230 / 0430):

| item | code | outcome |
|---|---|---|
| 0220 | 00 | done |
| 0220 | 12 | done, as a conflict (the host had reversed the transaction or let its hold lapse) |
| 0220 | any other | retry, counted |
| 0420 | 03, 30, 63, 94, 96 | retry, counted (the host did not act on it) |
| 0420 | any other | done (00 undone; 12, 25 or anything else: nothing left to undo) |

Give-up policy: no response and link failures are retried without counting (the host may be
down for hours; the money is real). An item is parked, never silently dropped, after
MAX_REFUSALS counted answers, or when it is older than EXPIRY_S at a failed attempt.
Parked items stay in the journal (snapshot "parked"), are reported by the end-of-day close and
can be put back with requeue_parked().
"""

import binascii

from agent.club import NoResponse
from agent.ledger import CONFIRM
from agent.protocol import messages as m

DONE = "done"
CONFLICT = "conflict"
RETRY = "retry"  # an answer that leaves the item queued; counted toward MAX_REFUSALS

CONFIRM_CODES = {"00": DONE, "12": CONFLICT}  # others: RETRY
REVERSAL_CODES = {"03": RETRY, "30": RETRY, "63": RETRY, "94": RETRY, "96": RETRY}  # else DONE

BACKOFF_MS = 5000
BACKOFF_CAP_MS = 300000
MAX_REFUSALS = 5
EXPIRY_S = 7 * 86400


def classify(mti, rc):
    if mti == CONFIRM:
        return CONFIRM_CODES.get(rc, RETRY)
    return REVERSAL_CODES.get(rc, DONE)


def backoff_ms(failures, base=BACKOFF_MS, cap=BACKOFF_CAP_MS):
    """The wait after `failures` consecutive failures (1, 2, ...): base, 2 base, 4 base ... cap."""
    if failures <= 0:
        return 0
    delay = base
    for _ in range(failures - 1):
        delay *= 2
        if delay >= cap:
            return cap
    return min(delay, cap)


def message_of(item):
    """The ISO 8583 message dict of an item: repeat MTI once it has been sent."""
    msg = {"t": m.REPEAT_MTI[item["mti"]] if item.get("sent") else item["mti"]}
    for key, value in item["f"].items():
        msg[key] = binascii.unhexlify(value) if key == "48" else value
    return msg


class Saf:
    def __init__(self, ledger, club, clock, vault, base_ms=BACKOFF_MS, cap_ms=BACKOFF_CAP_MS):
        self.ledger = ledger
        self.club = club
        self.clock = clock
        self.vault = vault
        self.base_ms = base_ms
        self.cap_ms = cap_ms
        self.failures = 0  # consecutive failed attempts of the head (RAM: a restart retries now)
        self.next_due = 0  # ticks_ms when the head may be tried again
        self.last_reply = {}  # item id -> Reply of the items completed by the latest drain()
        self.refusals = {}  # item id -> refusals counted (RAM: a restart counts afresh)
        self.on_refused = None  # called after a 0220 is answered 12 (agent/engine.py)

    @property
    def items(self):
        return self.ledger.saf

    def __len__(self):
        return len(self.ledger.saf)

    def add(self, item):
        """Queue an item (a "q" record, see agent/flows.py followup()); durable on return."""
        item["k"] = "q"
        return self.ledger.record(item)

    def due(self):
        return bool(self.items) and self.clock.ticks_ms() >= self.next_due

    def drain(self, force=False):
        """Send items in order until one fails or the queue is empty; True when empty.

        Without force, nothing is tried before the backoff timer of the head runs out.
        """
        self.last_reply = {}
        if not force and not self.due():
            return not self.items
        while self.items:
            if not self.attempt():
                return False
        return True

    def attempt(self):
        """One send of the head; True when it left the queue (done or parked)."""
        item = self.items[0]
        message = message_of(item)  # the original MTI only if never sent before
        item["sent"] = 1  # RAM: the next send is a repeat (after a restart: agent/ledger.py)
        try:
            reply = self.club.exchange_once(message, pan=self.vault.open(item.get("pan")))
        except NoResponse:
            return self._failed(item)
        outcome = classify(item["mti"], reply.rc)
        if outcome in (DONE, CONFLICT):
            rec = {"k": "qd", "id": item["id"], "rc": reply.rc}
            if "48" in reply.message:
                rec["t48"] = binascii.hexlify(reply.message["48"]).decode()
            if "54" in reply.message:
                rec["a54"] = reply.message["54"]
            self.ledger.record(rec)
            self.refusals.pop(item["id"], None)
            self.failures = 0
            self.next_due = 0
            self.last_reply[item["id"]] = reply
            if outcome == CONFLICT and self.on_refused is not None:
                self.on_refused()  # a bank charge it carried is given back (agent/bankback.py)
            return True
        self.refusals[item["id"]] = self.refusals.get(item["id"], 0) + 1
        return self._failed(item, True, reply.rc)

    def _failed(self, item, refused=False, rc=None):
        self.failures += 1
        self.next_due = self.clock.ticks_ms() + backoff_ms(self.failures, self.base_ms, self.cap_ms)
        why = None
        if refused and self.refusals.get(item["id"], 0) >= MAX_REFUSALS:
            why = f"refused {rc}"
        elif self.clock.now() - item.get("at", self.clock.now()) > EXPIRY_S:
            why = "expired"
        if why is None:
            return False
        self.ledger.record({"k": "qp", "id": item["id"], "why": why})
        self.refusals.pop(item["id"], None)
        self.failures = 0
        self.next_due = 0
        return True

    def requeue_parked(self):
        """Put every parked item back at the end of the queue (operator action)."""
        parked = list(self.ledger.parked)
        for item in parked:
            item.pop("parked", None)
            item["at"] = self.clock.now()
            item["rq"] = 1  # requeued: not a new "last transaction" for a void
            self.add(item)  # the "q" record takes it off the parked list (agent/ledger.py)
        return len(parked)
