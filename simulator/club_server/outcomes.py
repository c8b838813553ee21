"""The table of test outcomes: magic card numbers and amounts that make the club server answer a
chosen way (docs/testing.md lists them, like Stripe's test cards). Data, not if-chains.

A rule is (trigger, value, phase, effect, argument):
- trigger "amount": field 4 equals `value` (rials); applies once, when the request is first
  processed (a repeat then gets the recorded answer normally, which is how a terminal's
  repeat/reversal recovery is exercised);
- trigger "card": the card number in field 62 equals `value`; applies to every phase-one
  request with the card, repeats (0101) included.
- trigger "coupon": the coupon code in field 48 tag 0F equals `value` (docs/protocol.md 5.10);
  applies to every purchase's phase one with the code: effect "respond" answers 78 with the
  coupon refusal reason `argument` in tag 11 (simulator/club_server/coupons.py asks `coupon`).
- phase: the message class it applies to: "010" phase one (0100/0101), "022" phase two
  (0220/0221), "042" reversal (0420/0421).
- effect "respond": answer field 39 = argument at once, without touching any balance
  (phase one only); "slow": answer after the server's slow delay (default 12 s, more than the
  terminal's 10 s timer); "drop": close the connection without answering; "twice": send the
  answer two times; "bad_mac": send the answer with its MAC corrupted. The last four run the
  business rules normally and change only how the answer travels. "short" (a card rule): the
  club sees at most `argument` rials of the card's club credit available, whatever it holds,
  so a larger club-credit purchase is short: 51, or with tag 17 a split (10, docs/protocol.md
  5.11); the business rules run normally.
"""

from collections import namedtuple

from simulator.club_server.cards import with_check_digit

Rule = namedtuple("Rule", "trigger value phase effect argument note")

RESPOND = "respond"
SLOW = "slow"
DROP = "drop"
TWICE = "twice"
BAD_MAC = "bad_mac"
SHORT = "short"
BEHAVIOURS = (SLOW, DROP, TWICE, BAD_MAC)

PHASE_ONE = "010"
PHASE_TWO = "022"
REVERSAL = "042"

MAGIC_CARD_PREFIX = "9879119000000"  # + 2 digits + Luhn check digit


def magic_card(code):
    """The magic club card of a 2-digit code, e.g. magic_card("05") = 9879119000000055."""
    return with_check_digit(MAGIC_CARD_PREFIX + code)


# Coupon refusal reasons (docs/protocol.md 5.10 table, field 48 tag 11), in the order the club
# checks them; the QA coupon codes below are QA78 + one of them.
COUPON_REFUSALS = {
    "TX": "not a purchase",
    "UK": "unknown code",
    "DS": "disabled",
    "EX": "expired",
    "ST": "not for this store",
    "MB": "for another member",
    "MN": "below the minimum purchase",
    "US": "used up",
}

# Amounts 1,000,0RR answer RR; amounts 1,000,9PB change how the answer of phase P travels
# (P: 0 phase one, 1 phase two, 2 reversal; B: 1 slow, 2 drop, 3 twice, 4 bad MAC).
# Magic cards 9879119000000RR + Luhn digit: 05, 51, 55 and 75 answer that code to every phase
# one (55 without tags 13 and 14: a terminal shows "incorrect PIN" and asks no more);
# 91..94 (seeded, active, with club credit) change how every phase-one answer travels; 10
# (seeded too) has its club credit always short (a split with tag 17, protocol.md 5.11).
# fmt: off
RULES = (
    Rule("amount", 1_000_003, PHASE_ONE, RESPOND, "03", "terminal not registered"),
    Rule("amount", 1_000_005, PHASE_ONE, RESPOND, "05", "declined"),
    Rule("amount", 1_000_051, PHASE_ONE, RESPOND, "51", "insufficient credit"),
    Rule("amount", 1_000_054, PHASE_ONE, RESPOND, "54", "expired card"),
    Rule("amount", 1_000_062, PHASE_ONE, RESPOND, "62", "blocked card"),
    Rule("amount", 1_000_096, PHASE_ONE, RESPOND, "96", "system error"),
    Rule("amount", 1_000_901, PHASE_ONE, SLOW, None, "0110 sent after the slow delay"),
    Rule("amount", 1_000_902, PHASE_ONE, DROP, None, "no 0110: the connection is closed"),
    Rule("amount", 1_000_903, PHASE_ONE, TWICE, None, "0110 sent twice"),
    Rule("amount", 1_000_904, PHASE_ONE, BAD_MAC, None, "0110 with a corrupt MAC"),
    Rule("amount", 1_000_911, PHASE_TWO, SLOW, None, "0230 sent after the slow delay"),
    Rule("amount", 1_000_912, PHASE_TWO, DROP, None, "no 0230: the connection is closed"),
    Rule("amount", 1_000_913, PHASE_TWO, TWICE, None, "0230 sent twice"),
    Rule("amount", 1_000_914, PHASE_TWO, BAD_MAC, None, "0230 with a corrupt MAC"),
    Rule("amount", 1_000_921, REVERSAL, SLOW, None, "0430 sent after the slow delay"),
    Rule("amount", 1_000_922, REVERSAL, DROP, None, "no 0430: the connection is closed"),
    Rule("amount", 1_000_923, REVERSAL, TWICE, None, "0430 sent twice"),
    Rule("amount", 1_000_924, REVERSAL, BAD_MAC, None, "0430 with a corrupt MAC"),
    Rule("card", magic_card("05"), PHASE_ONE, RESPOND, "05", "declined, always"),
    Rule("card", magic_card("51"), PHASE_ONE, RESPOND, "51", "insufficient credit, always"),
    Rule("card", magic_card("55"), PHASE_ONE, RESPOND, "55", "incorrect PIN, always"),
    Rule("card", magic_card("75"), PHASE_ONE, RESPOND, "75", "PIN tries exceeded, always"),
    Rule("card", magic_card("10"), PHASE_ONE, SHORT, "100000",
         "club credit always short: 100,000 available (a split, 10, with tag 17)"),
    Rule("card", magic_card("91"), PHASE_ONE, SLOW, None, "every 0110 after the slow delay"),
    Rule("card", magic_card("92"), PHASE_ONE, DROP, None, "never a 0110: connection closed"),
    Rule("card", magic_card("93"), PHASE_ONE, TWICE, None, "every 0110 sent twice"),
    Rule("card", magic_card("94"), PHASE_ONE, BAD_MAC, None, "every 0110 with a corrupt MAC"),
    # QA78 + a refusal reason: that refusal, to every purchase with the code (TX, not a
    # purchase, is what any code in a refund or a top-up gets)
    *(
        Rule("coupon", "QA78" + reason, PHASE_ONE, RESPOND, reason, "coupon refused: " + what)
        for reason, what in COUPON_REFUSALS.items()
        if reason != "TX"
    ),
)
# fmt: on
# The behaviour cards are seeded as active cards with club credit (simulator.club_server.seed).
BEHAVIOUR_CARD_CODES = ("91", "92", "93", "94")
# ... and so is the short-credit card, with far more club credit than it is ever let spend
SHORT_CARD_CODE = "10"
SEEDED_CARD_CODES = (*BEHAVIOUR_CARD_CODES, SHORT_CARD_CODE)


class OutcomeTable:
    """Rules indexed for a dictionary lookup per request."""

    def __init__(self, rules=RULES):
        self.rules = tuple(rules)
        self._by_amount = {}
        self._by_card = {}
        self._by_coupon = {}
        indexes = {"amount": self._by_amount, "card": self._by_card, "coupon": self._by_coupon}
        for rule in self.rules:
            indexes[rule.trigger][(rule.phase, rule.value)] = rule

    def match(self, phase, amount=None, card=None, fresh=True):
        """The rule for a request, or None. Card rules win over amount rules; amount rules
        apply to fresh requests only."""
        if card is not None:
            rule = self._by_card.get((phase, card))
            if rule is not None:
                return rule
        if fresh and amount is not None:
            return self._by_amount.get((phase, amount))
        return None

    def coupon(self, code):
        """The rule of a QA coupon code (phase one), or None."""
        return self._by_coupon.get((PHASE_ONE, code))
