"""A split sale on the emulator (docs/protocol.md 5.11, docs/ecr.md 3.6): X, while the
terminal is idle, chooses how the rest is paid when the member's credit is short: bank card,
then cash, then no split again. The choice is kept for the next club-credit (F2) or
store-credit (F3) purchase, which then runs as a split sale (agent/split.py): the terminal
shows the credit part and the remainder (screen split: OK accepts, Esc refuses); a cash
remainder asks the cashier to confirm the cash (screen collect_cash: OK taken, Esc not). The
result's legs are logged. A mixin of EmulatorApp, like coupon_keys.CouponKeys."""

from agent.protocol import messages

SPLIT_KEY = "x"
# X steps through these: the remainder's tender (None: no split)
TENDERS = (None, messages.ACCOUNT_BANK, messages.ACCOUNT_NONE)
TENDER_WORDS = {messages.ACCOUNT_BANK: "bank card", messages.ACCOUNT_NONE: "cash"}
# the flows that can pay first in a split (keys.py FLOWS' names) -> the credit account
SPLIT_FLOWS = {
    "club_credit": messages.ACCOUNT_CLUB_CREDIT,
    "store_credit": messages.ACCOUNT_STORE_CREDIT,
}
ACCOUNT_WORDS = {"60": "club credit", "70": "store credit", "40": "bank card", "00": "cash"}


def legs_text(legs):
    """The legs of a result for the log: "legs: club credit 700,000 + bank card 385,000"."""
    parts = []
    for leg in legs or ():
        part = f"{ACCOUNT_WORDS.get(leg.get('account'), leg.get('account'))} {leg['amount']:,}"
        if leg.get("bank_reference"):
            part += f" (ref {leg['bank_reference']})"
        parts.append(part)
    return "legs: " + " + ".join(parts) if parts else ""


class SplitKeys:
    """State: split_tender (the remainder's tender kept for the next credit purchase)."""

    split_tender = None

    def choose_split(self):
        """X while idle: the next tender (bank card, cash, none)."""
        if self.busy or self.waiting is not None:
            return False
        at = TENDERS.index(self.split_tender)
        self.split_tender = TENDERS[(at + 1) % len(TENDERS)]
        if self.split_tender is None:
            self._event("split: off")
        else:
            words = TENDER_WORDS[self.split_tender]
            self._event(f"split: the next F2/F3 purchase pays its rest by {words}")
        self._refresh_display()
        return True

    def split_call(self, flow, amount, coupon):
        """The engine call of a split sale for this flow, or None (the tender stays kept)."""
        account = SPLIT_FLOWS.get(flow)
        if account is None or self.split_tender is None:
            return None
        tender, self.split_tender = self.split_tender, None
        eng = self.engine

        def call():
            from agent.split import purchase_split  # as the ECR session: only when used

            return purchase_split(eng, amount, account, tender, coupon=coupon)

        return call

    def action_split(self):
        self.press(SPLIT_KEY)

    def split_status(self):
        """The status line's word on a kept split, or None."""
        if self.split_tender is None:
            return None
        return f"Split: F2/F3 pays the rest by {TENDER_WORDS[self.split_tender]} (X changes)"
