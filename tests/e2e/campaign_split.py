"""Split sales in the fault campaign (docs/protocol.md 5.11): the campaign of
tests/e2e/campaign.py with split purchases drawn among the other transactions, refunds that may
name them, and the comparison taught what a split moves.

A split draw: card A or B (5,000,000 and 2,000,000 rials of club credit at the start, moved by
every other sale of the campaign) with an amount of 1,000,000 to 7,000,000, so that the credit
is short of it more often than not (10: the credit part held, the rest paid on the bank leg or
in cash) and sometimes not (00: a credit purchase with one leg), or, without credit, 51; mostly
club credit, some store credit; the remainder by bank card (the bank leg's answer drawn as for a
bank-card sale) or in cash. The comparison then expects:

- the bank leg charged a split's remainder exactly when the club confirmed the split, with its
  reference (a 00 split, covered by the credit, charges nothing);
- the club credit moved by a confirmed split's credit part (its first leg), and by a refund of a
  split by the credit share the club answered (the first leg of the refund's result);
- everything else as for the other transactions (states, holds, the ledger check, the day's
  totals: a split counts once, at field 4, in the debits).
"""

import collections

from agent.ports import Card
from simulator.club_server import seed
from tests.e2e.campaign import BANK_OUTCOMES, Campaign, weighted

SPLIT_SHARE = 0.12  # of the drawn transactions
SPLIT_CARDS = (seed.CARD_A, seed.CARD_B)
SPLIT_AMOUNTS = (100, 700)  # x 10,000 rials (never a magic amount: those end in 0RR or 9PB)
SPLIT_ACCOUNTS = {"60": 4, "70": 1}  # the credit leg: club credit, store credit
TENDERS = {"40": 2, "00": 1}  # the remainder: bank card, cash


class SplitCampaign(Campaign):
    def draw(self, eng, n):
        if self.rng.random() >= SPLIT_SHARE:
            return super().draw(eng, n)
        rng = self.rng
        txn = {"n": n, "kind": "split", "log": len(self.plan.log), "bank": None}
        txn["account"] = weighted(rng, SPLIT_ACCOUNTS)
        txn["tender"] = weighted(rng, TENDERS)
        txn["card"] = rng.choice(SPLIT_CARDS)
        txn["amount"] = rng.randint(*SPLIT_AMOUNTS) * 10_000
        if txn["tender"] == "40":
            txn["bank"] = weighted(rng, BANK_OUTCOMES)
        return txn

    def call(self, eng, txn):
        if txn["kind"] != "split":
            return super().call(eng, txn)
        card = Card(txn["card"], None, "051")
        return eng.purchase_split(txn["amount"], txn["account"], txn["tender"], card)

    def note(self, txn, res):
        """An approved split may be refunded to its credit leg's account, as a credit sale."""
        if txn["kind"] == "split" and res["outcome"] == "approved" and res.get("rrn"):
            self.purchases.append(
                {
                    "rrn": res["rrn"],
                    "stan": res["stan"],
                    "pc": "00" + txn["account"] + "00",
                    "card": txn["card"],
                    "left": res["amount"] - res["discount"],
                }
            )
            return
        super().note(txn, res)

    def bank_due(self, txn, res):
        if txn["kind"] != "split":
            return super().bank_due(txn, res)
        if txn["tender"] != "40":
            return None
        return sum(leg["amount"] for leg in res.get("legs") or () if leg["account"] == "40")

    def credit_move(self, txn, res):
        legs = res.get("legs") or ()
        if txn["kind"] == "split":  # the credit part, or the whole payable when it covered it
            return -legs[0]["amount"] if legs and txn["account"] == "60" else 0
        if txn["kind"] == "refund" and len(legs) > 1:  # a split's: the credit share
            return legs[0]["amount"] if txn["original"]["pc"] == "006000" else 0
        return super().credit_move(txn, res)

    def counts(self, elapsed, problems):
        """The campaign's counts, with a line for the split sales."""
        splits = [t for t in self.txns if t["kind"] == "split"]
        outcomes = collections.Counter(
            f"{t['tender']} {t['res']['outcome']} ({t['res']['response_code']})" for t in splits
        )
        line = f"split sales {len(splits)}: " + ", ".join(
            f"{k} {v}" for k, v in sorted(outcomes.items())
        )
        return super().counts(elapsed, problems) + "\n" + line
