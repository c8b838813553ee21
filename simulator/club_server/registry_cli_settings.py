"""`vafa club-server program|tiers ...`: the register commands that list, show, add and change
programs (a store's scenario) and the club-wide tier rule (registry.py); composed into the
club server's commands by registry_cli.py (PROGRAM, TIERS)."""

import json

from simulator.club_server.program_settings import SETTINGS
from simulator.club_server.registry_cli_common import output_options, setting_pairs, show_rows
from vafa import args as types

# -- programs -------------------------------------------------------------------------------


def _program_list(store, args):
    from simulator.club_server import registry

    show_rows(args, "programs", registry.programs(store))


def _print_program(args, program_id, values):
    if args.json:
        print(json.dumps({"program": program_id, "settings": values}, ensure_ascii=False))
        return
    width = max(len(k) for k in values)
    print(f"program {program_id}")
    for key, value in values.items():
        print(f"  {key.ljust(width)}  {value}    ({SETTINGS[key].meaning})")


def _program_show(store, args):
    from simulator.club_server import registry

    _print_program(args, args.program_id, registry.program_values(store, args.program_id))


def _program_set(store, args):
    from simulator.club_server import registry

    changes = setting_pairs(args)
    values = registry.set_program(store, args.program_id, changes)
    print(f"program {args.program_id}: " + ", ".join(f"{k} {values[k]}" for k, _ in changes))


def _program_add(store, args):
    from simulator.club_server import registry

    program_id = registry.add_program(store, args.name, args.like)
    print(f"program {program_id} added ({args.name}); change it with `program set "
          f"{program_id} KEY VALUE`, keys in `program show {program_id}`")  # fmt: skip


def _program_id(p):
    p.add_argument("program_id", type=types.whole("program id", 1),
                   help="the program's id (`program list`)")  # fmt: skip


def _configure_program_show(p):
    _program_id(p)
    output_options(p, csv_too=False)


def _configure_program_set(p):
    _program_id(p)
    p.add_argument("key", help=f"a setting: {', '.join(SETTINGS)}")
    p.add_argument("value", help="its value (checked against the setting's type and range)")
    p.add_argument(
        "more", nargs="*", default=[], metavar="KEY VALUE", help="further settings, in pairs"
    )


def _configure_program_add(p):
    p.add_argument("--name", required=True, help="the program's name")
    p.add_argument("--like", type=types.whole("--like", 1),
                   help="copy every setting of this program (default: 1 point per 10,000 "
                   "rials, nothing else)")  # fmt: skip


PROGRAM = {
    "list": (_program_list, "the programs and the stores that use them", output_options),
    "show": (
        _program_show,
        "every setting of a program, with its meaning",
        _configure_program_show,
    ),
    "set": (
        _program_set,
        "change settings of a program, checked before they are saved",
        _configure_program_set,
    ),
    "add": (_program_add, "add a program (a store's scenario)", _configure_program_add),
}


# -- the club's tier rule -----------------------------------------------------------------


def _tiers_show(store, args):
    from simulator.club_server import registry
    from simulator.club_server.tier_settings import TIER_SETTINGS

    values = registry.tier_values(store)
    if args.json:
        print(json.dumps({"tiers": values}))
        return
    width = max(len(k) for k in values)
    for key, value in values.items():
        print(f"{key.ljust(width)}  {value:,}    ({TIER_SETTINGS[key].meaning})")


def _tiers_set(store, args):
    from simulator.club_server import registry

    values = registry.set_tiers(store, setting_pairs(args))
    print("tiers: " + ", ".join(f"{k} {v:,}" for k, v in values.items())
          + "; each member's next sale is priced at the new rule")  # fmt: skip


def _configure_tiers_show(p):
    output_options(p, csv_too=False)


def _configure_tiers_set(p):
    from simulator.club_server.tier_settings import TIER_SETTINGS

    p.add_argument("key", help=f"a setting: {', '.join(TIER_SETTINGS)}")
    p.add_argument("value", help="its value, a whole number (checked before it is saved)")
    p.add_argument(
        "more", nargs="*", default=[], metavar="KEY VALUE", help="further settings, in pairs"
    )


TIERS = {
    "show": (_tiers_show, "the club's tier rule: window and volumes", _configure_tiers_show),
    "set": (_tiers_set, "change the tier rule, checked before it is saved", _configure_tiers_set),
}
