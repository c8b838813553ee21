"""The settings of a store's campaigns, one table: default, range and meaning of each.

Each is a knob of the store's program, kept like the program's other knobs as a settings row
"program.<programs.id>.<key>" (program.program_key); a missing row takes the default here, so
a database made before campaigns existed runs them with these defaults. docs/club_server.md
"Campaigns" lists them; `vafa club-server program show|set` shows and checks them with the
program's other settings (program_settings.py takes this table). Pure: no I/O.
"""

MAX_RIALS = 10**14
# program.TRUE_WORDS and program.program_key's form, written out here: program.py takes its
# defaults from this table and cannot be imported back (a test keeps them equal)
TRUE_WORDS = ("1", "yes", "true", "on")


def program_key(program_id, key):
    return f"program.{program_id}.{key}"


# key -> (default, lowest, highest, meaning); a bool has (default, None, None, meaning)
# fmt: off
SETTINGS = {
    "birthday_gift_rials": ("500000", 0, MAX_RIALS, "store credit given on the member's "
                            "birthday (Jalali month and day of the birth date; 0: no gift)"),
    "birthday_gift_days": ("30", 1, 3650, "days the birthday gift credit stays valid"),
    "winback_after_days": ("60", 0, 3650, "a member whose last purchase here is this many "
                           "days old gets a 'we miss you' SMS with a return offer (0: off)"),
    "winback_offer_bp": ("1000", 0, 10_000, "the return offer: basis points off the next "
                         "purchase here (1000 = 10 %), on top of the tier discount"),
    "winback_offer_days": ("14", 1, 365, "days the return offer stays valid"),
    "referral_reward_rials": ("200000", 0, MAX_RIALS, "store credit for the new member and "
                              "for the referrer once the new member's first purchase is "
                              "confirmed (0: no reward)"),
    "referral_reward_days": ("30", 1, 3650, "days the referral credit stays valid"),
    "survey_sms": ("0", None, None, "after a confirmed purchase, queue a satisfaction "
                   "survey SMS"),
    "survey_every_days": ("30", 1, 3650, "at most one survey SMS per member in this many "
                          "days"),
}
# fmt: on
DEFAULTS = {key: spec[0] for key, spec in SETTINGS.items()}


class CampaignSettings:
    """The campaign settings of one program, read from the settings rows."""

    def __init__(self, program_id, settings):
        self.program_id = program_id
        self._settings = settings

    def text(self, key):
        return self._settings.get(program_key(self.program_id, key), DEFAULTS[key])

    def number(self, key):
        return int(self.text(key))

    def on(self, key):
        return self.text(key).strip().lower() in TRUE_WORDS
