"""The terminal's state as a replay of its journal: open transactions, the store-and-forward
queue, totals since the last reconciliation, the last confirmed transaction.

Every change is written ahead: record(rec) appends the record to the journal and only then
applies it in RAM. Loading replays the same apply() over the journal, so RAM after a restart is
exactly RAM before it, up to the last durable record. The record kinds and their fields are
documented in docs/terminal.md ("Journal record format").

Durable at once or not (docs/terminal.md "Durable writes"): a record that must be on flash
before the terminal acts outside (a 0100, the bank leg, a 0220/0420) or that ends a
transaction is synced when record() returns. The kinds in DEFERRED are not: they reach flash
with the next synced record (agent/journal.py), and a power cut before that loses them, which
costs only a message that the club answers as it did the first time. The first send of a
queued item leaves no record at all: an item read back after a restart is sent as a repeat.
"""

from agent.journal import Journal

# Field 3 positions 1-2 -> which totals a confirmed transaction counts in (docs/protocol.md 5.8).
DEBIT = "debit"
CREDIT = "credit"
TOTALS_SIDE = {"00": DEBIT, "20": CREDIT, "21": CREDIT}

# Totals keys -> reconciliation fields (docs/protocol.md 2.1 / 5.8).
TOTALS_FIELDS = {
    "cn": "74",  # credits, number
    "crn": "75",  # credits, reversal number
    "dn": "76",  # debits, number
    "drn": "77",  # debits, reversal number
    "ca": "86",  # credits, amount
    "cra": "87",  # credits, reversal amount
    "da": "88",  # debits, amount
    "dra": "89",  # debits, reversal amount
}

CONFIRM = "0220"
REVERSAL = "0420"

# The record kinds that wait for the next synced record, and why losing one at a cut is harmless:
DEFERRED = (
    # the 0110 of an open transaction: without it recovery reverses (0420 PF), which the club
    # answers 00 for a 0100 it declined or never approved; an approval is always followed by a
    # synced "pay", "q" or "end" before anything else leaves
    "rsp",
    # a completed queued item: without it the item is sent again after the restart, as a
    # repeat, and the club answers it as the first time (docs/protocol.md 6, idempotency)
    "qd",
)


def new_totals():
    return {key: 0 for key in TOTALS_FIELDS}


def net_amount(totals):
    """Field 97 value: credits - debits - credit reversals + debit reversals."""
    return totals["ca"] - totals["da"] - totals["cra"] + totals["dra"]


def deferred(rec):
    """Whether a record may wait for the next synced one: the DEFERRED kinds, and the "txn" of
    a balance inquiry, which holds nothing: after a cut there is nothing to finish."""
    kind = rec.get("k")
    return kind in DEFERRED or (kind == "txn" and rec.get("single") == 1)


def exception_of(item, rc):
    """A confirmation the club refused, as the day report lists it: never dropped silently."""
    fields = item["f"]
    return {
        "stan": item.get("txn"),
        "rrn": fields.get("37"),
        "pc": fields["3"],
        "flow": item.get("flow"),
        "card": item.get("card"),
        "amt": int(fields["4"]),
        "paid": item.get("paid"),
        "rc": rc,
    }


class Ledger:
    def __init__(self, storage, name="journal"):
        self.journal = Journal(storage, name)
        self.open = []  # open transactions: {"txn": rec, "rsp": rec or None, "pay": rec or None}
        self.saf = []  # queued 0220/0420 items, in order (each is its "q" record)
        self.parked = []  # items given up on (docs/terminal.md, "Store and forward")
        self.totals = new_totals()
        self.last = None  # {"q": the 0220 item, "state": pending|confirmed|conflict|voided}
        self.conflicts = 0  # 0220s answered 12 since the last close (paid, not on the club side)
        self.exceptions = []  # those 0220s, one dict each (exception_of), for the day report
        self.legs = {}  # purchases since the last close by leg: account -> rials (_count)
        self._apply = {
            "snap": self._snap,
            "txn": self._txn,
            "rsp": self._rsp,
            "pay": self._pay,
            "end": self._end,
            "q": self._q,
            "qs": self._qs,
            "qd": self._qd,
            "qp": self._qp,
            "rec": self._rec,
        }

    def load(self):
        """Replay the journal; returns its `torn` report (None when the tail was clean).

        Every queued item read back counts as sent: whether its first send left before the cut
        is unknown, and a repeat of one the club never saw is processed as new (protocol.md 6).
        """
        for rec in self.journal.load():
            self.apply(rec)
            if rec.get("k") == "q":
                rec["sent"] = 1  # the item itself (also when parked later in the journal)
        return self.journal.torn

    def record(self, rec):
        """Append `rec` (durable on return unless deferred, see above), then apply it."""
        self.journal.append(rec, sync=not deferred(rec))
        self.apply(rec)
        return rec

    def flush(self):
        """Make the deferred records durable now (a clean shutdown; tools)."""
        self.journal.flush()

    def apply(self, rec):
        handler = self._apply.get(rec.get("k"))
        if handler is not None:  # unknown kinds (a newer version's) are skipped
            handler(rec)

    # -- lookups ---------------------------------------------------------------------------

    def entry(self, stan):
        for entry in self.open:
            if entry["txn"]["s"] == stan:
                return entry
        return None

    def item(self, item_id):
        for item in self.saf:
            if item["id"] == item_id:
                return item
        return None

    # -- compaction ------------------------------------------------------------------------

    def snapshot(self):
        """The records that rebuild the present state: what compaction writes."""
        records = [
            {
                "k": "snap",
                "v": 1,
                "tot": self.totals,
                "last": self.last,
                "parked": self.parked,
                "conf": self.conflicts,
                "exc": self.exceptions,
                "legs": self.legs,
            }
        ]
        records.extend(self.saf)
        for entry in self.open:
            for kind in ("txn", "rsp", "pay"):
                if entry[kind] is not None:
                    records.append(entry[kind])
        return records

    def compact(self):
        # What waits is appended first (one more write per compaction, which is rare): every
        # record then reaches the journal by an append unless a cut loses it, so the stream of
        # appends is the terminal's whole history (the fault campaign reads it so).
        self.journal.flush()
        self.journal.rewrite(self.snapshot())

    # -- record kinds ----------------------------------------------------------------------

    def _snap(self, rec):
        self.totals = rec.get("tot") or new_totals()
        self.last = rec.get("last")
        self.parked = rec.get("parked") or []
        self.conflicts = rec.get("conf", 0)
        self.exceptions = rec.get("exc") or []
        self.legs = rec.get("legs") or {}

    def _txn(self, rec):
        self.open.append({"txn": rec, "rsp": None, "pay": None})

    def _rsp(self, rec):
        entry = self.entry(rec["s"])
        if entry is not None:
            entry["rsp"] = rec

    def _pay(self, rec):
        entry = self.entry(rec["s"])
        if entry is not None:
            entry["pay"] = rec

    def _close(self, stan):
        entry = self.entry(stan)
        if entry is not None:
            self.open.remove(entry)

    def _end(self, rec):
        self._close(rec["s"])

    def _q(self, rec):
        for item in self.parked:
            if item["id"] == rec["id"]:  # put back by requeue_parked()
                self.parked.remove(item)
                break
        if self.item(rec["id"]) is None:
            self.saf.append(rec)
        if rec.get("txn"):
            self._close(rec["txn"])
        if rec["mti"] == CONFIRM and not rec.get("rq"):
            self.last = {"q": rec, "state": "pending"}

    def _qs(self, rec):
        item = self.item(rec["id"])
        if item is not None:
            item["sent"] = 1

    def _qd(self, rec):
        item = self.item(rec["id"])
        if item is None:
            return
        self.saf.remove(item)
        rc = rec.get("rc")
        last = self.last
        ours = last is not None and last["q"]["txn"] == item.get("txn")
        if item["mti"] == CONFIRM:
            if rc == "00":
                self._count(item, reversal=False)
            else:
                self.conflicts += 1
                self.exceptions.append(exception_of(item, rc))
            if ours:
                last["state"] = "confirmed" if rc == "00" else "conflict"
        elif item.get("reason") == "VD" and rc == "00":
            self._count(item, reversal=True)
            if ours:
                last["state"] = "voided"

    def _qp(self, rec):
        item = self.item(rec["id"])
        if item is not None:
            self.saf.remove(item)
            item["parked"] = rec.get("why")
            self.parked.append(item)

    def _rec(self, rec):
        self.totals = new_totals()
        self.last = None
        self.conflicts = 0
        self.exceptions = []
        self.legs = {}

    def _count(self, item, reversal):
        fields = item["f"]
        side = TOTALS_SIDE.get(fields["3"][:2])
        if side is None:
            return
        prefix = "c" if side == CREDIT else "d"
        if reversal:
            prefix += "r"
        self.totals[prefix + "n"] += 1
        self.totals[prefix + "a"] += int(fields["4"])
        if side == DEBIT:  # by leg: what the customer paid, a split sale's on each of its legs
            legs = item.get("legs") or ((fields["3"][2:4], item.get("paid", int(fields["4"]))),)
            for account, amount in legs:
                self.legs[account] = self.legs.get(account, 0) + (-amount if reversal else amount)
