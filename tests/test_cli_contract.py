"""The error contract of every `vafa` command (docs/errors.md), walked from the argument parser
itself: every subcommand found in vafa.cli.full_parser() gets a table of bad inputs (an
unknown option, its required arguments missing, a bad number for each numeric option, a
nonexistent path for each option that reads one, a closed or taken port for each option that
names one), each run as a user runs it (a subprocess of `python -m vafa`), and each answer must
be: no traceback, one line on stderr, the documented exit status, within seconds; with --json
also one JSON object on stdout. A new command or option is covered without a change here; a new
required argument or port option fails until this file says what a good value for it is.
"""

import argparse
import doctest
import json
import os
import socket
import subprocess
import sys
import time

import pytest

import vafa.args
from tests.ports import closed_port
from vafa.cli import EXIT_CODES, full_parser, subparsers

VAFA = [sys.executable, "-m", "vafa"]
ANSWER_S = 8.0  # "an answer within seconds", with room for a loaded 2-core machine
NOWHERE = "/nonexistent/vafa-nope"

# a good value for each required argument, by dest ({closed}: a closed TCP port, {file}: a file)
VALUES = {
    "card": "9879110000000014",
    "count": "1",
    "amount": "1000",
    "rrn": "000000000001",
    "invoice": "INV-1",
    "text": "hello",
    "pan": "9879110000000014",
    "port": "socket://127.0.0.1:{closed}",
    "firmware": "{file}",
    "code": "NOWRUZ10",  # a coupon code (simulator/club_server/coupon_cli.py)
    # the club's register (simulator/club_server/registry_cli.py)
    "merchant_id": "VAFA00000000001",
    "terminal_id": "VT000001",
    "chain_id": "VAFA-HYPER",
    "program_id": "1",
    "key": "keep_points",
    "value": "1",
    "name": "a name",
    "name_fa": "a name",
    "program": "1",
    "store": "VAFA00000000001",
    "ikid": "5641464100000077",
    "old": "0014",
    "new": "9879110000000105",
    "sheba": "IR062960000000100324200001",
}
# what makes a command reach its checks of a path (without it, an earlier check answers)
CONTEXT = {"flash firmware": ["--board", "unix-x86"]}
# options that read a path which must exist, beyond those typed by vafa.args (file, folder)
PATH_DESTS = {"db", "scenario", "firmware", "bundle", "micropython_src"}
PATH_TYPES = {"file", "folder", "kit folder"}
# creating commands: a nonexistent --db is what they make
CREATES = {"club-server init", "club-server seed-demo"}
# options naming a port to reach: (command's first word, option) -> exit status for a closed
# one; "listen": a port to listen on, given one already taken
PORTS = {
    ("bridge", "--port"): 3,
    ("flash", "--port"): 2,
    ("card", "--vpcd"): 2,
    ("emulator", "--club"): 2,
    ("demo", "--club"): 2,
    ("club-server", "--port"): "listen",
    ("bridge", "--listen"): "listen",
}
PORT_NAMES = {"--port", "--club", "--vpcd", "--listen"}
WAIT_OPTIONS = {"card emulate": ["--wait", "1"]}  # bounded waits where the default is longer


def walk(parser, levels=()):
    """(levels, leaf parser) for every runnable command; levels: [(name, parser)]."""
    levels = (*levels, (parser.prog.split()[-1], parser))
    action = subparsers(parser)
    if action is None or not action.required:
        yield levels, parser
    if action is not None:
        seen = set()
        for child in action.choices.values():
            if id(child) not in seen:  # an alias is the same parser
                seen.add(id(child))
                yield from walk(child, levels)


def own_actions(parser):
    return [
        a
        for a in parser._actions
        if not isinstance(a, (argparse._SubParsersAction, argparse._HelpAction))
    ]


COMMANDS = {" ".join(n for n, _ in levels[1:]): levels for levels, _ in walk(full_parser())}


class Command:
    """argv for one command, with the required arguments filled and room for one bad input."""

    def __init__(self, name, values):
        self.name = name
        self.levels = COMMANDS[name]
        self.values = values

    @property
    def words(self):
        return self.name.split()

    def actions(self):
        """(level index, action) of every option and positional along the command's path."""
        return [(i, a) for i, (_, p) in enumerate(self.levels) for a in own_actions(p)]

    def own(self):
        """The command's own actions (its parents' are walked as commands of their own)."""
        return own_actions(self.levels[-1][1])

    def required(self):
        out = [(i, a) for i, a in self.actions() if a.required]
        out += [
            (i, group._group_actions[0])  # one of a required group: its first
            for i, (_, parser) in enumerate(self.levels)
            for group in parser._mutually_exclusive_groups
            if group.required
        ]
        return out

    def value(self, action):
        if action.choices and action.dest not in VALUES:  # any of its choices is good
            return str(next(iter(action.choices)))
        if action.dest not in VALUES:
            pytest.fail(f"{self.name}: no good value for {action.dest!r}: add one to VALUES")
        return self.values(VALUES[action.dest])

    def argv(self, replace=None, extra=(), fill=True):
        """The argv; replace: {action: [tokens]} instead of its good value; extra: [(level,
        tokens)] added at that level (an option belongs after its own command's name)."""
        replace = dict(replace or {})
        segments = [[] for _ in self.levels]
        positionals = []
        for level, action in self.required() if fill else []:
            tokens = replace.pop(action, None) or [self.value(action)]
            if action.option_strings:
                segments[level] += [action.option_strings[0], *tokens]
            else:
                positionals += tokens
        for action, tokens in replace.items():
            level = next(i for i, a in self.actions() if a is action)
            if action.option_strings:
                segments[level] += [action.option_strings[0], *tokens]
            else:
                positionals += tokens
        for level, tokens in extra:
            segments[level] += list(tokens)
        argv = []
        for (name, _), segment in zip(self.levels, segments, strict=True):
            argv += ([] if name == "vafa" else [name]) + segment
        return argv + positionals + CONTEXT.get(self.name, []) + WAIT_OPTIONS.get(self.name, [])

    def has(self, option, own=False):
        actions = self.own() if own else [a for _, a in self.actions()]
        return any(option in a.option_strings for a in actions)


@pytest.fixture
def run(tmp_path):
    """run(argv) -> (CompletedProcess, seconds), as a user runs it, in an empty folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("VAFA_ECR_PORT", "VAFA_CASHIER")}
    env.pop("VAFA_DEBUG", None)

    def run(argv):
        start = time.monotonic()
        try:
            done = subprocess.run(
                [*VAFA, *argv],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=ANSWER_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"vafa {' '.join(argv)}: no answer within {ANSWER_S:g} s")
        return done, time.monotonic() - start

    return run


@pytest.fixture
def values(tmp_path):
    a_file = tmp_path / "some.bin"
    a_file.write_bytes(b"\0" * 16)
    closed = closed_port()
    return lambda text: text.format(closed=closed, file=a_file)


def check(done, argv, code, names=(), as_json=False):
    """The contract: no traceback, one line on stderr naming what is wrong, the status."""
    said = f"vafa {' '.join(argv)} -> {done.returncode}\nout: {done.stdout}\nerr: {done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, said
    assert done.returncode == code, said
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, said
    assert lines[0].startswith("vafa "), said
    if names:
        assert any(name in lines[0] for name in names), said
    if as_json:
        body = json.loads(done.stdout.strip().splitlines()[-1])
        assert isinstance(body, dict) and body.get("error"), said
    return lines[0]


def test_every_command_is_walked():
    # the walk finds the jobs' commands (a broken walk would make every table below empty)
    assert {"demo", "club-server add-terminals", "bridge sale", "flash install"} <= set(COMMANDS)
    assert "bridge settle" not in COMMANDS  # an alias of settlement, walked once
    assert len(COMMANDS) >= 35


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_unknown_option(name, run, values):
    command = Command(name, values)
    argv = command.argv(extra=[(len(command.levels) - 1, ["--no-such-option"])])
    done, _ = run(argv)
    check(done, argv, 2, ["unknown option --no-such-option"])
    if command.has("--json"):
        argv = [*argv, "--json"]
        done, _ = run(argv)
        check(done, argv, 2, ["--no-such-option"], as_json=True)


@pytest.mark.parametrize("name", sorted(n for n in COMMANDS if Command(n, str).required()))
def test_missing_required_arguments(name, run, values):
    argv = Command(name, values).argv(fill=False)
    done, _ = run(argv)
    check(done, argv, 2, ["required", "missing"])


def _numeric(action):
    return action.type in (int, float) or getattr(action.type, "__name__", "") in (
        "whole number",
        "number",
    )


NUMBER_CASES = [
    (name, "/".join(action.option_strings) or action.dest)
    for name in sorted(COMMANDS)
    for action in Command(name, str).own()
    if _numeric(action)
]


@pytest.mark.parametrize(("name", "option"), NUMBER_CASES)
def test_bad_number(name, option, run, values):
    command = Command(name, values)
    action = next(a for a in command.own() if ("/".join(a.option_strings) or a.dest) == option)
    argv = command.argv(replace={action: ["12x"]})
    done, _ = run(argv)
    check(done, argv, 2, [option.split("/")[0], "12x"])
    if command.has("--json"):
        argv = [*argv, "--json"]
        done, _ = run(argv)
        check(done, argv, 2, ["12x"], as_json=True)


PATH_CASES = [
    (name, action.option_strings[0])
    for name in sorted(COMMANDS)
    if name not in CREATES
    for action in Command(name, str).own()
    if action.option_strings
    and (action.dest in PATH_DESTS or getattr(action.type, "__name__", "") in PATH_TYPES)
]


@pytest.mark.parametrize(("name", "option"), PATH_CASES)
def test_nonexistent_path(name, option, run, values, tmp_path):
    command = Command(name, values)
    action = next(a for a in command.own() if option in a.option_strings)
    nowhere = str(tmp_path / "nope" / "missing.db") if action.dest == "db" else NOWHERE
    argv = command.argv(replace={action: [nowhere]})
    done, _ = run(argv)
    check(done, argv, 2, [option, nowhere])
    assert not (tmp_path / "nope").exists()  # nothing made at a mistyped path


def test_a_mistyped_db_is_not_created(run, tmp_path):
    # the case: `--db nope.db` made an empty nope.db and its key file
    for argv in (
        ["club-server", "balances", "--db", "nope.db", "--card", VALUES["card"]],
        ["club-server", "--db", "nope.db", "--port", "0"],
        ["club-server", "ledger-check", "--db", "nope.db"],
    ):
        done, _ = run(argv)
        line = check(done, argv, 2, ["--db nope.db"])
        assert "init" in line and "seed-demo" in line  # how to make one on purpose
    assert not list(tmp_path.glob("nope.db*"))


PORT_CASES = [
    (name, option)
    for name in sorted(COMMANDS)
    for option in sorted(PORT_NAMES)
    if Command(name, str).has(option, own=True)
]


@pytest.mark.parametrize(("name", "option"), PORT_CASES)
def test_closed_or_taken_port(name, option, run, values, tmp_path):
    command = Command(name, values)
    expected = PORTS.get((command.words[0], option))
    assert expected is not None, f"{name} {option}: say in PORTS what a closed one answers"
    action = next(a for a in command.own() if option in a.option_strings)
    extra = []
    if command.words[0] == "club-server":  # a club database to serve
        db = tmp_path / "club.db"
        run(["club-server", "init", "--db", str(db)])
        extra = [(1, ["--db", str(db)])]
    if expected == "listen":
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        value = str(port) if option == "--port" else f"127.0.0.1:{port}"
        if command.words[0] == "bridge":  # serve opens the ECR port first: give it one
            extra = [(len(command.levels) - 1, ["--port", "loop://"])]
        argv = command.argv(replace={action: [value]}, extra=extra)
        try:
            done, seconds = run(argv)
        finally:
            taken.close()
        check(done, argv, 2, [str(port)])
        return
    port = closed_port()
    value = f"socket://127.0.0.1:{port}" if option == "--port" else f"127.0.0.1:{port}"
    argv = command.argv(replace={action: [value]}, extra=extra)
    done, seconds = run(argv)
    check(done, argv, expected, [str(port)])
    assert seconds < 4, f"{argv}: {seconds:.1f} s for a closed port"  # fails fast
    if command.has("--json") and expected != 2:
        argv = [*argv, "--json"]
        done, _ = run(argv)
        check(done, argv, expected, [str(port)], as_json=True)


# -- the cases of issue 12, each with its sentence -----------------------------------------


def test_the_cases_seen_before(run, tmp_path):
    bad_hex = tmp_path / "keys.json"
    bad_hex.write_text('{"firmware": "not hex", "kbpk": "00112233445566778899AABBCCDDEEFF"}')
    db = tmp_path / "club.db"
    assert run(["club-server", "init", "--db", str(db)])[0].returncode == 0
    closed = closed_port()
    # fmt: off
    cases = [
        (["card", "emulate", "--pan", "1234"], 2, "--pan '1234': card number must be 12..19"),
        (["emulator", "--club", "localhost"], 2, "--club 'localhost': no port; expected"),
        (["flash", "provision", "--csv", "nofile.csv"], 2, "--csv nofile.csv: no such file"),
        (["flash", "--keys", "missing.json", "build"], 2, "--keys missing.json: no such file"),
        (["flash", "--keys", str(bad_hex), "build"], 2, "'firmware' must be 32, 64 or 128 hex"),
        (["club-server", "add-terminals", "--db", str(db), "--count", "1", "--merchant",
          "NOSUCHSTORE"], 2, "--merchant NOSUCHSTORE: no such store"),
        (["club-server", "daily-report", "--db", str(db), "--date", "2024-13-01"], 2,
         "--date '2024-13-01': not a date; expected YYYY-MM-DD"),
        (["bridge", "sale", "-5", "--port", "loop://"], 2,
         "amount must be a positive whole number of rials, not '-5'"),
        (["bridge", "sale", "10", "--port", f"{tmp_path}/ttyUSB9"], 3, "no such port"),
        (["bridge", "sale", "10", "--port", f"127.0.0.1:{closed}"], 3,
         f"for a TCP address write socket://127.0.0.1:{closed}"),
        (["flash", "status", "--port", f"127.0.0.1:{closed}"], 2, "write socket://"),
    ]
    # fmt: on
    for argv, code, words in cases:
        done, _ = run(argv)
        assert words in check(done, argv, code), done.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"keys.json", "club.db", "club.db.key"}


def test_amount_zero_is_refused_before_anything_is_sent(run):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        for command in (["sale", "0"], ["topup", "0"], ["refund", "0", "--rrn", "0" * 12]):
            argv = ["bridge", *command, "--port", f"socket://127.0.0.1:{port}"]
            done, _ = run(argv)
            assert "amount must be a positive whole number of rials" in check(done, argv, 2)
        with pytest.raises(TimeoutError):
            listener.accept()  # the terminal's port never saw a connection
    finally:
        listener.close()


def test_output_into_a_closed_pipe_is_quiet(tmp_path):
    # `vafa ... | head -5`: the reader goes away; no BrokenPipeError traceback, exit 141
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [*VAFA, "card", "personas"], stdout=write, stderr=subprocess.PIPE, text=True,
            cwd=tmp_path, timeout=ANSWER_S,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == ""


def test_exit_statuses_are_in_every_help(run):
    for name in ("bridge sale", "flash install", "club-server", "card read", "emulator"):
        done, _ = run([*name.split(), "--help"])
        text = " ".join(done.stdout.split())
        assert done.returncode == 0 and "Exit status: 0 done" in text, done.stdout
        assert "bad input" in text
    bridge_help = run(["bridge", "sale", "--help"])[0].stdout
    assert "3 the port cannot be opened" in " ".join(bridge_help.split())
    assert set(EXIT_CODES) == {0, 1, 2, 130, 141}


def test_the_argument_types_examples():
    assert doctest.testmod(vafa.args).failed == 0
