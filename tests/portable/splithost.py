"""The in-test club host (tests/portable/fakehost.py) with split payment (docs/protocol.md 5.11,
"Split payment"): a 006000 with 48 tag 17 whose payable the member's club credit does not
cover gets 10, the credit part held; its 0220 debits it and records the remainder leg; a void
gives the credit back; a refund of a split sale is divided between the legs.

Not a test module (the runner collects test_*.py only): test_split.py and test_powercut's
split sweeps build terminals over it (fakehost.Terminal(host=SplitHost())).
"""

from agent.protocol import messages as m
from agent.protocol.tlv import encode_amounts
from tests.portable.fakehost import START_CREDIT, FakeHost

TENDERS = (m.ACCOUNT_BANK, m.ACCOUNT_NONE)


class SplitHost(FakeHost):
    def _auth(self, message, tags, pan):
        tender = tags.get(m.TAG_SPLIT_TENDER)
        pc = message["3"]
        if tender is None:
            if pc[:2] == "20":
                return self._refund(message, tags, pan)
            return FakeHost._auth(self, message, tags, pan)
        tender = tender.decode()
        if pc not in (m.PURCHASE_CLUB_CREDIT, m.PURCHASE_STORE_CREDIT):
            return self._answer(message, m.INVALID_TRANSACTION)
        if tender not in TENDERS:
            return self._answer(message, m.FORMAT_ERROR)
        amount = int(message["4"])
        credit = self.credit.setdefault(pan, START_CREDIT)
        if credit <= 0 or credit >= amount:  # 51, or a plain credit purchase (00)
            return FakeHost._auth(self, message, tags, pan)
        account = pc[2:4]
        self.credit[pan] = amount  # FakeHost holds the whole sale (no 51), then mended below
        response = FakeHost._auth(self, message, tags, pan)
        self.credit[pan] = credit
        txn = self.txns[(message["11"], message["7"])]
        txn["payable"] = credit  # what the 0220 debits (FakeHost._confirm)
        txn["split"] = (account, credit, tender, amount - credit)
        response["39"] = m.PARTIAL_APPROVAL
        response["54"] = encode_amounts(
            [(account, "P1", credit), (tender, "P1", amount - credit), (account, "02", 0)]
        )
        return response

    def _confirm(self, message, tags, pan):
        txn = self._original(message)
        if txn is not None and txn.get("split") and txn["state"] == "held":
            ref = tags.get(m.TAG_BANK_REFERENCE)
            if txn["split"][2] == m.ACCOUNT_BANK and not ref:
                return self._answer(message, m.FORMAT_ERROR)
        return FakeHost._confirm(self, message, tags, pan)

    def _reverse(self, message, tags, pan):
        txn = self._original(message)
        reason = (tags.get(m.TAG_REVERSAL_REASON) or b"").decode()
        confirmed = txn is not None and txn["state"] == "confirmed"
        if confirmed and reason == "VD" and txn["pc"][2:4] == "60":  # the credit part back
            self.credit[txn["pan"]] += txn["payable"]
        return FakeHost._reverse(self, message, tags, pan)

    def _refund(self, message, tags, pan):
        """A refund of a split sale: shares in proportion to the legs (P1 items)."""
        original = tags.get(m.TAG_ORIGINAL_RRN, b"").decode()
        sale = None
        for txn in self.txns.values():
            if txn["rrn"] == original and txn["state"] == "confirmed":
                sale = txn
        if sale is None or not sale.get("split"):
            return FakeHost._auth(self, message, tags, pan)
        account, part, tender, remainder = sale["split"]
        if message["3"][4:6] != account:
            return self._answer(message, m.INVALID_TRANSACTION)
        refund = int(message["4"])
        share = refund * part // (part + remainder)
        response = FakeHost._auth(self, message, tags, pan)
        self.txns[(message["11"], message["7"])]["payable"] = share
        response["54"] = encode_amounts([(account, "P1", share), (tender, "P1", refund - share)])
        return response
