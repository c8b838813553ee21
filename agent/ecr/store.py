"""Results of the ECR commands by invoice number, on the storage port (docs/ecr.md section 6).

Records in the journal format of agent/journal.py (length, JSON, CRC-32; a torn tail after a
power cut is cut off), blob "ecr":

    {"k": "run", "i": invoice, "c": command, "q": request digest, "s": last STAN before,
     "a": amount, "at": UTC seconds}
        written before the command reaches the engine (write-ahead);
    {"k": "res", "i": invoice, "c": command, "q": request digest, "r": {result fields}}
        written when the command finished.

A "run" without its "res" after a restart is a command the power cut interrupted: the session
decides its result from what the engine's recovery did (session.py) and writes the "res".
Results are kept until the next settlement (which starts a new window for invoice numbers) and
at most `keep` of them; when there are more, or the blob passes `max_bytes`, compaction rewrites
it atomically with the newest ones (at least half of `keep` when they fit in half of
`max_bytes`). Only the newest `receipts` results keep their receipt text.
"""

from agent.journal import Journal, encode_record

RECEIPTS = 4  # results that keep their receipt text (the newest); older ones drop it


class ResultStore:
    def __init__(self, storage, name="ecr", keep=100, max_bytes=65536, receipts=RECEIPTS):
        self.journal = Journal(storage, name)
        self.keep = keep
        self.max_bytes = max_bytes
        self.receipts = receipts
        self.results = {}  # invoice -> its "res" record
        self.order = []  # invoices, oldest result first
        self.running = {}  # invoice -> its "run" record, while no "res" exists

    def load(self):
        """Read the blob; returns the "run" records left without a result (interrupted)."""
        self.results = {}
        self.order = []
        self.running = {}
        for rec in self.journal.load():
            kind = rec.get("k")
            if kind == "run":
                self.running[rec["i"]] = rec
            elif kind == "res":
                self._put(rec)
        return list(self.running.values())

    def get(self, invoice):
        return self.results.get(invoice)

    def start(self, invoice, command, digest, extra=None):
        """Write ahead: the command is about to run. extra: "s" the last STAN handed out
        before, "a" the amount, "at" the time (UTC seconds)."""
        rec = {"k": "run", "i": invoice, "c": command, "q": digest}
        if extra:
            for key in extra:
                if extra[key] is not None:
                    rec[key] = extra[key]
        self.journal.append(rec)
        self.running[invoice] = rec
        return rec

    def finish(self, invoice, command, digest, result):
        rec = {"k": "res", "i": invoice, "c": command, "q": digest, "r": result}
        self.journal.append(rec)
        self._put(rec)
        if not self.running:
            self.compact()
        return rec

    def clear(self, keep_invoice=None):
        """A settlement closed the window: forget every result but keep_invoice's."""
        kept = self.results.get(keep_invoice)
        records = [kept] if kept is not None else []
        records.extend(self.running.values())
        self.journal.rewrite(records)
        self.results = {}
        self.order = []
        if kept is not None:
            self._put(kept)

    def compact(self, force=False):
        """Rewrite with the newest results when there are too many or the blob is too big."""
        if not force and len(self.order) <= self.keep and self.journal.size <= self.max_bytes:
            return False
        budget = self.max_bytes // 2
        kept = []
        for invoice in reversed(self.order):
            if len(kept) >= self.keep // 2 or budget <= 0:
                break
            rec = self.results[invoice]
            size = len(encode_record(rec))
            if size > budget and kept:
                break
            budget -= size
            kept.append(rec)
        kept.reverse()
        records = kept + list(self.running.values())
        self.journal.rewrite(records)
        self.results = {}
        self.order = []
        for rec in kept:
            self._put(rec)
        return True

    def _put(self, rec):
        invoice = rec["i"]
        self.running.pop(invoice, None)
        if invoice in self.results:
            self.order.remove(invoice)
        self.results[invoice] = rec
        self.order.append(invoice)
        # Receipt text is the bulk of a result: only the newest few keep it, in RAM and in
        # what compaction writes (a status inquiry is nearly always about the last one).
        if len(self.order) > self.receipts:
            older = self.results[self.order[-1 - self.receipts]]
            if "receipt" in older["r"]:
                result = dict(older["r"])
                del result["receipt"]
                self.results[older["i"]] = {
                    "k": "res", "i": older["i"], "c": older["c"], "q": older["q"], "r": result
                }  # fmt: skip
