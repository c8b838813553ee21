"""`vafa`: one console command, a subcommand per job.

Each job lives in its own package and is imported only when its subcommand runs, so a cashier
PC that installed only the bridge extra never imports the flashing tools. A job module provides
`add_arguments(parser)` and `run(args) -> int`, and may declare ERRORS, a tuple of
(exception class, exit status) for its package's own errors, and EXIT_CODES, the statuses of
its own beyond the common ones.

The error contract (docs/errors.md) is kept here, at one boundary, for every job: whatever
escapes a job is one line on stderr, `vafa JOB COMMAND: what is wrong`, never a traceback, and
an exit status from EXIT_CODES; with --json the same as one JSON object on stdout. argparse's
own errors (an unknown option, a bad number) go the same way, without the usage block.
"""

import argparse
import contextlib
import importlib
import json
import os
import re
import select
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141
# exit status -> meaning, the same for every command (a job adds its own: bridge 3 and 4)
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_FAILED: "the operation was tried and failed (the line on stderr says why)",
    EXIT_USAGE: "bad input: an option, value, file or port that is not what the command "
    "expects (one line on stderr names it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_PIPE: "the output pipe closed early (| head): nothing more is printed",
}
DEBUG_ENV = "VAFA_DEBUG"  # =1: a traceback after the line, for bug reports

# subcommand -> (module providing add_arguments/run, one-line help)
JOBS = {
    "demo": (
        "simulator.demo",
        "run every club flow end to end against a local (or --club) club server",
    ),
    "club-server": (
        "simulator.club_server.cli",
        "the reference club (loyalty) server and its admin",
    ),
    "card": ("simulator.cards.cli", "virtual cards, reading and personalizing club cards"),
    "bridge": ("hostbridge.cli", "drive a terminal from the cashier PC over its ECR link"),
    "emulator": ("simulator.pos_emulator.cli", "the POS emulator; --ecr exposes its ECR port"),
    "flash": ("flashing.cli", "build, provision, install and verify terminal firmware"),
    "receipt": ("simulator.printer.cli", "preview a receipt as PNG and ESC/POS bytes"),
}

# a missing optional package -> the extra that installs it (pyproject.toml)
EXTRAS = {
    "smartcard": "cards",
    "serial": "bridge",
    "construct": "bridge",
    "pynput": "bridge",
    "textual": "emulator",
    "yaml": "emulator",
    "mpremote": "flashing",
    "psec": "flashing",
    "esptool": "flashing",
    "iso8583": "server",
    "aiohttp": "server",
    "jinja2": "server",
    "cryptography": "crypto",
    "escpos": "printer",
    "PIL": "printer",
}


class Parser(argparse.ArgumentParser):
    """argparse, with its errors raised for the boundary (one line), not printed with usage.
    Subcommand parsers are made with the same class (add_subparsers' default)."""

    def error(self, message):
        from vafa.errors import BadInput

        action = subparsers(self)
        if action is not None and action.metavar and f"required: {action.metavar}" in message:
            listed = ", ".join(dict.fromkeys(action.choices))
            raise BadInput(f"missing the {action.metavar.lower()}: one of {listed}")
        raise BadInput(_plain(message))


def _plain(message):
    """argparse's message in the words of the rest of vafa: 'argument X: ...' becomes 'X: ...',
    or just the sentence when it names X itself (the types of vafa/args.py)."""
    found = re.match(r"argument (\S+?): (.*)$", message, re.DOTALL)
    if found:
        names, rest = found.groups()
        names = names.split("/")
        if names[0].isupper() and "invalid choice" in rest:  # JOB, COMMAND, ACTION
            choice = re.search(r"invalid choice: ('[^']*')", rest)
            options = re.search(r"\(choose from (.*)\)", rest)
            listed = options.group(1).replace("'", "") if options else ""
            return f"unknown command {choice.group(1) if choice else ''}; one of {listed}"
        rest = re.sub(
            r"^invalid (int|whole number) value: ('.*')$", r"\2 is not a whole number", rest
        )
        rest = re.sub(r"^invalid (float|number) value: ('.*')$", r"\2 is not a number", rest)
        if any(rest.startswith(name) or rest.startswith(name.lstrip("-")) for name in names):
            return rest
        return f"{names[-1]}: {rest}"
    found = re.match(r"unrecognized arguments: (.*)$", message)
    if found:
        words = found.group(1).split()
        options = [w for w in words if w.startswith("-")]
        if options:
            return f"unknown option {options[0]}"
        return f"unexpected argument {words[0]!r}"
    return message


def build_parser():
    parser = Parser(prog="vafa", description=__doc__.splitlines()[0], epilog=_epilog({}))
    sub = parser.add_subparsers(dest="job", metavar="JOB", required=True)
    for name, (module, help_text) in JOBS.items():
        job = sub.add_parser(name, help=help_text, description=help_text)
        job.set_defaults(_module=module)
    return parser, sub


def full_parser():
    """The whole tree, every job's arguments declared (imports every job module): for tests
    and docs that walk every command."""
    parser, sub = build_parser()
    for name, (module_name, _) in JOBS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.choices[name])
        _add_epilogs(sub.choices[name], getattr(module, "EXIT_CODES", {}))
    return parser


def subparsers(parser):
    """The subcommand action of a parser, or None."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _epilog(extra):
    codes = {**EXIT_CODES, **extra}
    return "Exit status: " + "; ".join(f"{code} {codes[code]}" for code in sorted(codes)) + "."


def _add_epilogs(parser, extra, seen=None):
    """Every parser of the job's tree ends its --help with the exit statuses."""
    seen = set() if seen is None else seen
    if id(parser) in seen:  # an alias is the same parser
        return
    seen.add(id(parser))
    line = _epilog(extra)
    if line not in (parser.epilog or ""):
        parser.epilog = f"{parser.epilog}\n\n{line}" if parser.epilog else line
    action = subparsers(parser)
    if action is not None:
        for child in action.choices.values():
            _add_epilogs(child, extra, seen)


def _command_path(parser, argv):
    """'vafa JOB COMMAND' as far as argv names subcommands: the name errors are printed under."""
    current, words = parser, [parser.prog]
    for token in argv:
        if token == "--":
            break
        action = subparsers(current)
        if action is None:
            break
        if not token.startswith("-") and token in action.choices:
            current = action.choices[token]
            words.append(token)
    return " ".join(words)


def _describe(error, module):
    """(exit status, one line) for an exception that escaped a job; None: a bug."""
    from vafa.errors import VafaError

    if isinstance(error, VafaError):
        return error.exit_code, str(error)
    code = getattr(error, "exit_code", None)  # a package error that knows its status
    if isinstance(code, int) and not isinstance(code, bool):
        return code, str(error)
    for cls, code in getattr(module, "ERRORS", ()):
        if isinstance(error, cls):
            return code, str(error)
    if isinstance(error, argparse.ArgumentTypeError):
        return EXIT_USAGE, str(error)
    if isinstance(error, ModuleNotFoundError) and error.name:
        top = error.name.split(".")[0]
        extra = EXTRAS.get(top)
        hint = f": pip install 'vafa[{extra}]'" if extra else ""
        return EXIT_USAGE, f"the Python package {top!r} is not installed here{hint}"
    if isinstance(error, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                          PermissionError)) and error.filename:  # fmt: skip
        return EXIT_USAGE, f"{error.filename}: {error.strerror or error}"
    if isinstance(error, UnicodeDecodeError):
        return EXIT_USAGE, f"not UTF-8 text ({error.reason} at byte {error.start})"
    if isinstance(error, ValueError):
        return EXIT_USAGE, str(error)
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(error, sqlite3.Error):
        return EXIT_FAILED, f"the database: {error}"
    if isinstance(error, OSError):
        return EXIT_FAILED, str(error)
    return None


def _stdout_closed():
    """True when stdout is a pipe whose reader has gone (`| head` has read its lines)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _quiet_stdout():
    """After a closed pipe: stdout to /dev/null, so the interpreter's last flush is silent."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def report(where, message, code, as_json=False, detail=()):
    """The one line (and detail lines) on stderr; with as_json also one JSON object on stdout."""
    message = " ".join(str(message).split()) or "failed"
    if as_json:
        body = {"error": message, "exit_status": code, "command": where}
        if detail:
            body["detail"] = list(detail)
        with contextlib.suppress(OSError):
            print(json.dumps(body, ensure_ascii=False), flush=True)
    with contextlib.suppress(OSError):
        print(f"{where}: {message}", file=sys.stderr)
        for line in detail:
            print(line, file=sys.stderr)
        sys.stderr.flush()


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, sub = build_parser()
    # Import only the chosen job's module, then let it declare its own arguments.
    job_name = next((a for a in argv if not a.startswith("-")), None)
    module = None
    as_json = "--json" in argv
    where = _command_path(parser, argv)
    try:
        if job_name in JOBS:
            module = importlib.import_module(JOBS[job_name][0])
            module.add_arguments(sub.choices[job_name])
            _add_epilogs(sub.choices[job_name], getattr(module, "EXIT_CODES", {}))
            where = _command_path(parser, argv)
        args = parser.parse_args(argv)
        as_json = bool(getattr(args, "json", as_json))
        module = importlib.import_module(args._module)
        code = module.run(args) or 0
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        report(where, "interrupted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError as e:
        if _stdout_closed():
            _quiet_stdout()
            return EXIT_PIPE
        described = (EXIT_FAILED, str(e))
        error = e
    except Exception as e:
        described = _describe(e, module)
        error = e
        if described is None:  # a bug: still one line, with how to see more
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            described = (
                EXIT_FAILED,
                f"internal error: {type(e).__name__}: {e} ({DEBUG_ENV}=1 shows where)",
            )
    code, message = described
    report(where, message, code, as_json, getattr(error, "detail", ()))
    if os.environ.get(DEBUG_ENV) == "1":
        import traceback

        traceback.print_exception(error)
    return code


if __name__ == "__main__":
    sys.exit(main())
