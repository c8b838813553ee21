"""A store's program (its "scenario") and the club-wide tier rule: the arithmetic, nothing else.

Amounts are whole rials; percentages are basis points (1 % = 100) so every result is an exact
integer: discounts and percentage fees round down.
"""

from simulator.club_server.campaign_settings import DEFAULTS as CAMPAIGN_DEFAULTS

TIERS = ("A", "B", "C")  # A is the best
TIER_RANK = {"A": 0, "B": 1, "C": 2}

# Club-wide settings (the settings table) and their defaults. The tier belongs to the member,
# not to a store, so its thresholds are the club's; each store chooses what a tier is worth.
DEFAULT_SETTINGS = {
    "tier_window_days": "90",  # trailing 3 months
    "tier_a_volume": "50000000",  # rials of confirmed purchases in the window for tier A
    "tier_b_volume": "10000000",
}

ACCOUNT_BANK = "40"
ACCOUNT_CLUB = "60"
ACCOUNT_STORE = "70"

# Knobs of a store's program and of a card product beyond the columns of their tables live in
# the settings table too, one row each: "program.<programs.id>.<knob>" and
# "product.<products.code>.<knob>". A missing row takes the default here, so a database made
# before a knob existed keeps working (docs/club_server.md "A store's program").
PROGRAM_DEFAULTS = {
    # "1": a purchase paid from this store's gift credit (007000) earns points like one paid
    # in money. Off by default: the store carries its gift credit, and points on it would
    # turn into more gift credit (a loop that gives away goods). Club credit is money the
    # member paid in and always earns (docs/club_server.md).
    "earn_on_redemption": "0",
    # "1": points stay points; the member keeps them instead of the conversion to store
    # credit at the threshold (Program.conversion is not applied at confirmation).
    "keep_points": "0",
    # "store": store credit is spent only at the store that gave it (57 elsewhere); "chain":
    # at any store of the same chain (merchants.chain_id) whose program says so.
    "store_credit_scope": "store",
    # points a member of each tier earns, percent of the program's points (incentive points)
    "tier_points_a_pct": "100",
    "tier_points_b_pct": "100",
    "tier_points_c_pct": "100",
    # rials a point is worth when the member spends points at the till (008000,
    # points_spend.py); "0": points are not spent at this store
    "point_value_rials": "0",
}
PROGRAM_DEFAULTS.update(CAMPAIGN_DEFAULTS)  # the campaigns' knobs (campaign_settings.py)
# The cardholder's PIN (pins.py, docs/protocol.md 4.5): club credit always needs it; these add
# "70" store credit, "80" points at the till, "00" cash purchases earning points, "40"
# bank-card purchases with the discount, from pin_floor rials up.
PROGRAM_DEFAULTS.update({"pin_accounts": "", "pin_floor": "0"})
PRODUCT_DEFAULTS = {
    # Club credit per rial of a top-up after the card's sale. The sale (the card's first
    # top-up) gets the product's own multiplier, products.multiplier (a pool card: 10).
    "topup_multiplier": "1",
}
TRUE_WORDS = ("1", "yes", "true", "on")


def program_key(program_id, knob):
    return f"program.{program_id}.{knob}"


def product_key(code, knob):
    return f"product.{code}.{knob}"


def top_up_multiplier(product, settings, sold):
    """Club credit per rial of a top-up of a card of `product` (a products row): its
    multiplier for the card's sale (`sold` False: no top-up of it confirmed yet), the
    product's topup_multiplier setting for every later top-up."""
    if not sold:
        return product["multiplier"]
    key = product_key(product["code"], "topup_multiplier")
    return int(settings.get(key, PRODUCT_DEFAULTS["topup_multiplier"]))


class Program:
    """One row of the programs table, with the rules it drives."""

    KNOBS = (
        "rials_per_point",  # one point per this many rials paid (0: no points)
        "convert_points",  # every N points ...
        "convert_credit",  # ... become M rials of store credit (0: no conversion)
        "convert_threshold",  # converted once the balance reaches T points (0: as soon as N)
        "discount_a_bp",
        "discount_b_bp",
        "discount_c_bp",
        "discount_accounts",  # "40,60": the accounts the tier discount applies to
        "fee_fixed",  # rials, charged when a discount is granted
        "fee_bp",  # percent of the amount, charged when a discount is granted
        "credit_validity_days",  # validity of the store credit this store gives
        "max_amount",  # above this amount a request is answered 13
    )

    def __init__(self, row):
        self.id = row["id"]
        self.name = row["name"]
        for knob in self.KNOBS:
            setattr(self, knob, row[knob])

    def discount(self, amount, tier, account):
        if account not in self.discount_accounts.split(","):
            return 0
        bp = {"A": self.discount_a_bp, "B": self.discount_b_bp, "C": self.discount_c_bp}[tier]
        return amount * bp // 10000

    def fee(self, amount, discount):
        """The club's fee for the discount service: nothing when there is no discount, so a
        customer never pays more than the price."""
        if discount <= 0:
            return 0
        return self.fee_fixed + amount * self.fee_bp // 10000

    def price(self, amount, tier, account):
        """(discount, fee, payable) of a purchase of `amount` paid on `account`."""
        discount = self.discount(amount, tier, account)
        fee = self.fee(amount, discount)
        return discount, fee, amount - discount + fee

    def earns_on_redemption(self, settings):
        """Whether a purchase paid from this store's gift credit earns points (settings: the
        club's settings rows, PROGRAM_DEFAULTS)."""
        key = program_key(self.id, "earn_on_redemption")
        value = settings.get(key, PROGRAM_DEFAULTS["earn_on_redemption"])
        return value.strip().lower() in TRUE_WORDS

    def knob(self, settings, knob):
        """A knob of this program from the settings rows, or its default."""
        return settings.get(program_key(self.id, knob), PROGRAM_DEFAULTS[knob])

    def keeps_points(self, settings):
        """Whether points stay points (no conversion to store credit at the threshold)."""
        return self.knob(settings, "keep_points").strip().lower() in TRUE_WORDS

    def chain_scope(self, settings):
        """Whether store credit of another store of this store's chain is spent here."""
        return self.knob(settings, "store_credit_scope").strip().lower() == "chain"

    def points_for(self, paid, tier=None, settings=None):
        """Points a confirmed purchase earns on what it cost the member (amount - discount),
        times the tier's percentage (tier_points_<t>_pct, with settings) rounded down."""
        if self.rials_per_point <= 0 or paid <= 0:
            return 0
        points = paid // self.rials_per_point
        if tier in TIER_RANK and settings is not None:
            points = points * int(self.knob(settings, f"tier_points_{tier.lower()}_pct")) // 100
        return points

    def conversion(self, points_balance):
        """(points to take, store credit to give) for a points balance, or (0, 0)."""
        if self.convert_points <= 0 or self.convert_credit <= 0:
            return 0, 0
        threshold = max(self.convert_threshold, self.convert_points)
        if points_balance < threshold:
            return 0, 0
        blocks = points_balance // self.convert_points
        return blocks * self.convert_points, blocks * self.convert_credit


def tier_for(volume, settings, floor=None):
    """The tier of a trailing volume; a floor (a tier granted by the club) is never undercut."""
    if volume >= int(settings["tier_a_volume"]):
        tier = "A"
    elif volume >= int(settings["tier_b_volume"]):
        tier = "B"
    else:
        tier = "C"
    if floor in TIER_RANK and TIER_RANK[floor] < TIER_RANK[tier]:
        return floor
    return tier
