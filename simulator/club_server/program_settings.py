"""Every setting of a store's program, as a table: its type, its range and what it means;
checked before it is saved (`vafa club-server program show|set|add|list`).

A setting is either a column of the programs table (program.Program.KNOBS) or a settings row
"program.<id>.<key>" (program.PROGRAM_DEFAULTS). `check_value` turns the text an operator
typed into the stored value or raises SettingError with one sentence naming the setting and
what it takes; `check_program` then checks the program as a whole (a conversion needs both
its points and its credit), so a program is never saved half-sensible. Pure: no I/O here;
registry.py reads and writes.
"""

from simulator.club_server.campaign_settings import SETTINGS as CAMPAIGN_SETTINGS
from simulator.club_server.program import PROGRAM_DEFAULTS, TRUE_WORDS

MAX_RIALS = 10**14  # field 4 holds 12 digits; a cap well above it, below SQLite's integers
FALSE_WORDS = ("0", "no", "false", "off")


class SettingError(ValueError):
    pass


class Setting:
    """One setting: where it lives ("column" or "knob"), its kind ("int", "bool", "choice",
    "accounts", "text"), its range or choices, and its meaning."""

    def __init__(self, where, kind, meaning, low=None, high=None, choices=()):
        self.where = where
        self.kind = kind
        self.meaning = meaning
        self.low = low
        self.high = high
        self.choices = choices

    def takes(self):
        """What the setting takes, for messages and `program show`."""
        if self.kind == "int":
            return f"a whole number {self.low:,}..{self.high:,}"
        if self.kind == "bool":
            return "yes or no"
        if self.kind in ("choice", "accounts"):
            joined = " or ".join(self.choices)
            example = ",".join(self.choices[:2])  # from this setting's own choices
            return joined if self.kind == "choice" else f"a list of {joined}, e.g. {example}"
        return f"text of 1..{self.high} characters"


BASIS_POINTS = (0, 10_000)  # 0..100 %

# fmt: off
SETTINGS = {
    "name": Setting("column", "text", "the program's name, shown to operators", high=200),
    "rials_per_point": Setting("column", "int", "one point per this many rials paid "
                               "(0: the program gives no points)", 0, MAX_RIALS),
    "convert_points": Setting("column", "int", "every N points become convert_credit rials "
                              "of store credit (0: no conversion)", 0, 10**9),
    "convert_credit": Setting("column", "int", "rials of store credit for every "
                              "convert_points points (0: no conversion)", 0, MAX_RIALS),
    "convert_threshold": Setting("column", "int", "points are converted once the balance "
                                 "reaches this (0: as soon as convert_points)", 0, 10**9),
    "discount_a_bp": Setting("column", "int", "tier A's discount, basis points (1500 = 15 %)",
                             *BASIS_POINTS),
    "discount_b_bp": Setting("column", "int", "tier B's discount, basis points",
                             *BASIS_POINTS),
    "discount_c_bp": Setting("column", "int", "tier C's discount, basis points",
                             *BASIS_POINTS),
    "discount_accounts": Setting("column", "accounts", "what the tier discount applies to: "
                                 "40 bank card, 60 club credit", choices=("40", "60")),
    "fee_fixed": Setting("column", "int", "rials of fee when a discount is granted",
                         0, MAX_RIALS),
    "fee_bp": Setting("column", "int", "fee in basis points of the amount when a discount is "
                      "granted", *BASIS_POINTS),
    "credit_validity_days": Setting("column", "int", "days the store credit this store gives "
                                    "stays valid", 1, 3650),
    "max_amount": Setting("column", "int", "above this amount (rials) a request is answered "
                          "13", 1, MAX_RIALS),
    "earn_on_redemption": Setting("knob", "bool", "a purchase paid from this store's gift "
                                  "credit earns points"),
    "keep_points": Setting("knob", "bool", "points stay points: no conversion to store credit "
                           "at the threshold (the member keeps them)"),
    "store_credit_scope": Setting("knob", "choice", "where store credit is spent: store (only "
                                  "the store that gave it) or chain (any store of its chain)",
                                  choices=("store", "chain")),
    "tier_points_a_pct": Setting("knob", "int", "points a tier A member earns, percent of the "
                                 "program's (150: half as many again)", 0, 1000),
    "tier_points_b_pct": Setting("knob", "int", "points a tier B member earns, percent",
                                 0, 1000),
    "tier_points_c_pct": Setting("knob", "int", "points a tier C member earns, percent",
                                 0, 1000),
    "point_value_rials": Setting("knob", "int", "rials a point is worth when spent at the "
                                 "till, 008000 (0: points are not spent here)", 0, MAX_RIALS),
}
# fmt: on
# the campaigns' knobs: their defaults, ranges and meanings are campaign_settings.SETTINGS
SETTINGS.update(
    {
        key: Setting("knob", "bool" if low is None else "int", meaning, low, high)
        for key, (_, low, high, meaning) in CAMPAIGN_SETTINGS.items()
    }
)
# the cardholder's PIN (pins.py): which payments need it besides club credit, which always does
SETTINGS["pin_accounts"] = Setting(
    "knob", "accounts", "payments that need the cardholder's PIN besides club credit: 70 store "
    "credit, 80 points spent at the till, 00 cash purchases earning points, 40 bank-card "
    "purchases", choices=("00", "40", "70", "80")
)  # fmt: skip
SETTINGS["pin_floor"] = Setting(
    "knob", "int", "rials below which those payments are not asked the PIN", 0, MAX_RIALS
)

ASCII_DIGITS = "0123456789"


def _whole(text):
    text = text.strip().replace(",", "").replace("_", "")
    if not text or text.strip(ASCII_DIGITS):
        raise ValueError
    return int(text)


def _printable(text):
    """Printable, the zero-width non-joiner of Persian words (U+200C) included."""
    return text.replace("\u200c", "").isprintable()


def check_value(key, text):
    """The value to store for `key` typed as `text`; SettingError naming the key otherwise."""
    setting = SETTINGS.get(key)
    if setting is None:
        raise SettingError(f"no program setting {key!r}; one of {', '.join(SETTINGS)}")
    bad = SettingError(f"{key} {text!r}: expected {setting.takes()} ({setting.meaning})")
    if setting.kind == "int":
        try:
            value = _whole(text)
        except ValueError:
            raise bad from None
        if not setting.low <= value <= setting.high:
            raise bad
        return value
    word = text.strip().lower()
    if setting.kind == "bool":
        if word in TRUE_WORDS:
            return "1"
        if word in FALSE_WORDS:
            return "0"
        raise bad
    if setting.kind == "choice":
        if word not in setting.choices:
            raise bad
        return word
    if setting.kind == "accounts":
        parts = [p.strip() for p in word.split(",") if p.strip()]
        if len(set(parts)) != len(parts) or not set(parts) <= set(setting.choices):
            raise bad
        return ",".join(sorted(parts))  # may be empty: the program gives no discount
    text = text.strip()
    if not 1 <= len(text) <= setting.high or not _printable(text):
        raise bad
    return text


def check_program(values):
    """The whole program (every key of SETTINGS -> its stored value) makes sense; a list of
    sentences, empty when it does."""
    problems = []
    if (values["convert_points"] > 0) != (values["convert_credit"] > 0):
        problems.append(
            "convert_points and convert_credit go together: both 0 (no conversion) or both "
            f"above 0 (now {values['convert_points']} and {values['convert_credit']})"
        )
    if values["convert_threshold"] and not values["convert_points"]:
        problems.append("convert_threshold needs a conversion (convert_points above 0)")
    ranks = [values["discount_a_bp"], values["discount_b_bp"], values["discount_c_bp"]]
    if ranks != sorted(ranks, reverse=True):
        problems.append(
            "a better tier never gets less: discount_a_bp >= discount_b_bp >= discount_c_bp "
            f"(now {ranks[0]}, {ranks[1]}, {ranks[2]})"
        )
    return problems


KNOB_DEFAULTS = PROGRAM_DEFAULTS  # a knob without its settings row has this value


def stored(key, raw):
    """A stored value as check_value returns it (knobs are kept as text)."""
    setting = SETTINGS[key]
    if setting.kind == "int":
        return int(raw)
    return str(raw)
