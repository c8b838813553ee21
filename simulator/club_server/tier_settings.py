"""The club-wide tier rule's settings (program.DEFAULT_SETTINGS), as a table like
program_settings.SETTINGS, checked before they are saved (`vafa club-server tiers show|set`).

A tier is the member's, not a store's: A, B or C by confirmed purchases over a trailing window
(loyalty.py). Each store's program says what a tier is worth (discounts, tier_points_*_pct).
Pure: no I/O here; registry.py reads and writes.
"""

from simulator.club_server.program_settings import MAX_RIALS, Setting, SettingError

# fmt: off
TIER_SETTINGS = {
    "tier_window_days": Setting("club", "int", "days of confirmed purchases a member's tier "
                                "counts (the trailing window)", 1, 3650),
    "tier_a_volume": Setting("club", "int", "rials of confirmed purchases in the window for "
                             "tier A", 1, MAX_RIALS),
    "tier_b_volume": Setting("club", "int", "rials of confirmed purchases in the window for "
                             "tier B (below it: C)", 1, MAX_RIALS),
}
# fmt: on


def check_value(key, text):
    """The whole number to store for `key`, or SettingError naming the key."""
    setting = TIER_SETTINGS.get(key)
    if setting is None:
        raise SettingError(f"no tier setting {key!r}; one of {', '.join(TIER_SETTINGS)}")
    words = text.strip().replace(",", "").replace("_", "")
    if not words or words.strip("0123456789") or not (setting.low <= int(words) <= setting.high):
        raise SettingError(f"{key} {text!r}: expected {setting.takes()} ({setting.meaning})")
    return int(words)


def check_tiers(values):
    """Sentences of what is wrong with the rule as a whole (empty: nothing)."""
    if values["tier_b_volume"] >= values["tier_a_volume"]:
        return [
            f"tier A needs more than tier B: tier_a_volume {values['tier_a_volume']:,} must be "
            f"above tier_b_volume {values['tier_b_volume']:,}"
        ]
    return []
