"""BankSimulator: pay(amount, card, txn_id), status(txn_id) and reverse(txn_id, amount),
outcomes from a table.

Outcome of each pay() call, first match wins:
1. the next entry of `script` (a list such as ["approve", "decline", "timeout"]), while any
   is left;
2. the magic value of the amount's last three digits (MAGIC below);
3. "approve".

Every call is kept in `payments` (the simulator's own journal; also appended as JSON lines to
`journal_path` when given), so a test can assert that a sale was charged exactly once.

reverse(): docs/bank_leg.md "Reversal".
"""

import json

# outcome -> (status answered by pay(), whether the card is charged)
OUTCOMES = {
    "approve": ("approved", True),
    "decline": ("declined", False),
    "cancel": ("cancelled", False),
    "timeout": ("timeout", False),  # no answer, and nothing charged
    "timeout_charged": ("timeout", True),  # charged, but the answer was lost
}

# amount % 1000 -> outcome (rial amounts are round; a non-round tail is a deliberate signal)
MAGIC = {51: "decline", 17: "cancel", 91: "timeout", 92: "timeout_charged"}


class BankSimulator:
    def __init__(self, script=None, journal_path=None, reverse_script=None):
        self.script = list(script or ())
        self.reverse_script = list(reverse_script or ())
        self.journal_path = journal_path
        self.payments = []
        self.reversals = []
        self._seq = 0

    def load(self, record):
        """One journal line read back (a payment, or a reversal: "op" "reverse")."""
        (self.reversals if record.get("op") == "reverse" else self.payments).append(record)

    def outcome_for(self, amount):
        if self.script:
            return self.script.pop(0)
        return MAGIC.get(amount % 1000, "approve")

    def pay(self, amount, card, txn_id):
        outcome = self.outcome_for(amount)
        status, charged = OUTCOMES[outcome]
        reference = None
        if charged:
            self._seq += 1
            reference = f"PSP{self._seq:09d}"
        record = {
            "txn_id": txn_id,
            "amount": amount,
            "card": getattr(card, "last4", None),
            "outcome": outcome,
            "charged": charged,
            "reference": reference,
        }
        self.payments.append(record)
        self._journal(record)
        return {"status": status, "reference": reference if status == "approved" else None}

    def status(self, txn_id):
        """The status inquiry: what happened to the last payment with this id."""
        for record in reversed(self.payments):
            if record["txn_id"] == txn_id:
                if record["charged"]:
                    return {"status": "approved", "reference": record["reference"]}
                status = OUTCOMES[record["outcome"]][0]
                return {"status": "declined" if status == "timeout" else status, "reference": None}
        return {"status": "unknown", "reference": None}

    def reverse(self, txn_id, amount):
        """Give back the charge of txn_id: "reversed" (again, without a second credit, for every
        later call: idempotent by txn_id); "declined" when there is no such charge or the amount
        differs, or by the next entry of `reverse_script` ("decline"; "timeout": no answer)."""
        if self.reverse_script:
            outcome = self.reverse_script.pop(0)
            if outcome != "approve":
                return {"status": "timeout" if outcome == "timeout" else "declined"}
        for done in self.reversals:
            if done["txn_id"] == txn_id:
                return {"status": "reversed", "reference": done["reference"]}
        charged = self.charges(txn_id)
        if not charged or charged[-1]["amount"] != amount:
            return {"status": "declined", "reference": None, "message": "no such charge"}
        record = {"op": "reverse", "txn_id": txn_id, "amount": amount}
        record["reference"] = charged[-1]["reference"]
        self.reversals.append(record)
        self._journal(record)
        return {"status": "reversed", "reference": record["reference"]}

    def _journal(self, record):
        if self.journal_path:
            with open(self.journal_path, "a") as f:
                f.write(json.dumps(record) + "\n")

    # -- assertions ------------------------------------------------------------------------

    def charges(self, txn_id=None):
        """Payments that took money (all, or those of one txn_id)."""
        return [p for p in self.payments if p["charged"] and txn_id in (None, p["txn_id"])]

    def charged_total(self):
        return sum(p["amount"] for p in self.charges())

    def reversed_total(self):
        return sum(r["amount"] for r in self.reversals)

    def net_total(self):
        """What the customers' cards were charged, less what was given back."""
        return self.charged_total() - self.reversed_total()
