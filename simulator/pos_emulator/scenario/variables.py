"""A step's ${name} variables: substituted into its value, parameters and expectations
(the captures of earlier steps, ${copy}, ${terminal_id}, ${round}), and ${birthday_today}."""

from simulator.pos_emulator.scenario.schema import VARIABLE
from simulator.pos_emulator.scenario.step_failed import StepFailed


def birthday_today(now):
    """A birth date (Jalali YYYYMMDD, as typed at enrollment) whose birthday is today in
    Tehran, 30 years ago: ${birthday_today} (the campaigns' birthday gift)."""
    from agent import jalali
    from simulator.club_server import tehran

    d = tehran.local_date(now)
    y, m, day = jalali.gregorian_to_jalali(d.year, d.month, d.day)
    day = min(day, jalali.month_length(y - 30, m))  # 30 Esfand of a common year: the 29th
    return f"{y - 30:04d}{m:02d}{day:02d}"


def substitute(value, variables, step):
    if isinstance(value, str):
        whole = VARIABLE.fullmatch(value)

        def lookup(name):
            if name not in variables:
                known = ", ".join(sorted(variables)) or "none"
                raise StepFailed(
                    f"${{{name}}} is not captured by an earlier step (variables: {known})"
                )
            return variables[name]

        if whole:
            return lookup(whole.group(1))
        return VARIABLE.sub(lambda m: str(lookup(m.group(1))), value)
    if isinstance(value, dict):
        return {k: substitute(v, variables, step) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, step) for v in value]
    return value
