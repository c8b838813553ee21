"""`vafa`: one console command, a subcommand per job.

Each job lives in its own package and is imported only when its subcommand runs, so a cashier
PC that installed only the bridge extra never imports the flashing tools. A job module provides
`add_arguments(parser)` and `run(args) -> int`.
"""

import argparse
import importlib
import sys

# subcommand -> (module providing add_arguments/run, one-line help)
JOBS = {
    "demo": ("simulator.demo", "run every club flow end to end against a local (or --club) club server"),
    "club-server": (
        "simulator.club_server.cli",
        "the reference club (loyalty) server and its admin",
    ),
    "card": ("simulator.cards.cli", "virtual cards, reading and personalizing club cards"),
    "bridge": ("hostbridge.cli", "drive a terminal from the cashier PC over its ECR link"),
    "emulator": ("simulator.pos_emulator.cli", "the POS emulator; --ecr exposes its ECR port"),
    "flash": ("flashing.cli", "build, provision, install and verify terminal firmware"),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="vafa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="job", metavar="JOB", required=True)
    for name, (module, help_text) in JOBS.items():
        job = sub.add_parser(name, help=help_text, description=help_text)
        job.set_defaults(_module=module)
    return parser, sub


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser, sub = build_parser()
    # Import only the chosen job's module, then let it declare its own arguments.
    job_name = next((a for a in argv if not a.startswith("-")), None)
    if job_name in JOBS:
        module = importlib.import_module(JOBS[job_name][0])
        module.add_arguments(sub.choices[job_name])
    args = parser.parse_args(argv)
    module = importlib.import_module(args._module)
    return module.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
