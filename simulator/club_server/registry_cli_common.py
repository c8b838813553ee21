"""What the register commands (registry_cli.py) share: opening the database around an action,
the --db and --json/--csv options, printing rows as a table, JSON or CSV, a command with
commands of its own, and KEY VALUE pairs."""

import argparse
import csv
import json
import sys

from simulator.club_server import listing
from vafa.errors import BadInput


def open_storage(args):
    from simulator.club_server.storage import Storage

    return Storage(args.db)


def over_storage(fn):
    """An action over an open Storage, closed afterwards."""

    def action(args):
        store = open_storage(args)
        try:
            return fn(store, args)
        finally:
            store.close()

    return action


def db_option(p):
    # SUPPRESS: an --db given before the command is not overwritten by this default
    p.add_argument("--db", default=argparse.SUPPRESS, help="SQLite file")


def output_options(p, csv_too=True):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="one JSON object (ISO 8601 times)")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="CSV with a header row")


def aligned_table(rows):
    """Aligned columns named by the rows' keys; times in Tehran, Jalali."""
    shown = [
        {
            k: listing.jalali_time(v) if k.endswith("_at") else ("" if v is None else str(v))
            for k, v in row.items()
        }
        for row in rows
    ]
    keys = list(shown[0])
    widths = {k: max(len(k), *(len(r[k]) for r in shown)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys).rstrip()]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys).rstrip() for r in shown]
    return "\n".join(lines)


def show_rows(args, name, rows):
    if getattr(args, "json", False):
        print(json.dumps(listing.for_json({"list": name, "count": len(rows), "rows": rows}),
                         ensure_ascii=False))  # fmt: skip
    elif getattr(args, "csv", False):
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(listing.for_json(rows))
    elif rows:
        print(aligned_table(rows))
    else:
        print(f"(no {name})")


def command_group(name, commands):
    """A command with commands of its own: name -> (function(store, args), help, configure)."""

    def configure(p):
        sub = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
        for command, (fn, help_text, setup) in commands.items():
            leaf = sub.add_parser(command, help=help_text, description=help_text)
            db_option(leaf)
            setup(leaf)
            leaf.set_defaults(registry_action=over_storage(fn))

    return configure


def dispatch(args):
    return args.registry_action(args)


def setting_pairs(args):
    words = [args.key, args.value, *args.more]
    if len(words) % 2:
        raise BadInput(f"{words[-1]!r} has no value; give KEY VALUE pairs", "more")
    return list(zip(words[::2], words[1::2], strict=True))
