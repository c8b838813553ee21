"""The scenario runner (simulator/pos_emulator/scenario) and load mode (load.py)."""

import argparse
import textwrap
from pathlib import Path

import pytest

from simulator.club_server import seed
from simulator.pos_emulator import cli
from simulator.pos_emulator.load import run_load
from simulator.pos_emulator.scenario import ScenarioError, load_all, load_file, run_files
from simulator.pos_emulator.terminal import start_demo_club
from tests.ports import closed_port

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def run(paths):
    lines = []
    status = run_files(paths, lines.append)
    return status, "\n".join(lines)


def test_failing_expectation_fails_naming_step_and_expectation(tmp_path):
    path = write(
        tmp_path,
        """
        name: wrong outcome
        steps:
          - card: blocked
          - name: sale with a blocked card
            flow: cash
            amount: 100000
            expect: {outcome: approved}
    """,
    )
    status, out = run([path])
    assert status == 1
    assert "FAIL" in out and "step 2 (sale with a blocked card)" in out
    assert "expected outcome 'approved', got 'declined'" in out


def test_failing_balance_expectation(tmp_path):
    path = write(
        tmp_path,
        """
        name: wrong balance
        steps:
          - expect:
              balances: {card: active, club_credit: 1}
    """,
    )
    status, out = run([path])
    assert status == 1
    assert "expected club_credit of active 1, got 5000000" in out


def test_capture_and_substitution(tmp_path):
    path = write(
        tmp_path,
        """
        name: capture
        steps:
          - card: active
          - flow: club_credit
            amount: 300000
            capture: {rrn: sale_rrn, card_last4: last4}
          - flow: refund
            amount: 10000
            rrn: ${sale_rrn}
            expect: {outcome: approved, receipt: "${last4}"}
          - flow: refund
            amount: 10000
            rrn: ${nowhere}
    """,
    )
    status, out = run([path])
    assert status == 1  # only the last step: its variable was never captured
    assert "step 4 (flow refund)" in out and "${nowhere} is not captured" in out
    assert "step 3" not in out.split("FAIL", 1)[1].split("step 4")[0]


def test_concurrency_runs_n_terminals(tmp_path):
    path = write(
        tmp_path,
        """
        name: three at once
        concurrency: 3
        repeat: 2
        steps:
          - card: new-member
          - flow: cash
            amount: 100000
            expect: {outcome: approved, result: {points_earned: 10}}
            capture: {stan: stan}
          - flow: echo
            expect: {response_code: "00"}
        after:
          - drain: true
            expect: {ledger_ok: true, balances: {card: new-member, points: 60}}
    """,
    )
    status, out = run([path])
    assert status == 0, out
    assert "3 terminal(s) x 2 round(s)" in out
    assert "2 flow cash                           6" in out  # 3 copies x 2 rounds


def test_concurrency_failures_name_each_terminal(tmp_path):
    path = write(
        tmp_path,
        """
        name: all fail
        concurrency: 2
        steps:
          - card: blocked
          - flow: cash
            amount: 100000
            expect: {outcome: approved}
    """,
    )
    status, out = run([path])
    assert status == 1
    assert "VT001001" in out and "VT001002" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: []\n", "key 'name': document 1: every scenario has a name"),
        ("name: x\nsteps:\n  - flow: cash\n", "step 1: key 'amount': flow cash needs amount:"),
        ("name: x\nsteps:\n  - flow: teleport\n", "step 1: key 'flow': unknown flow 'teleport'"),
        (
            "name: x\nsteps:\n  - card: active\n  - name: pay\n    flow: cash\n    amount: lots\n",
            "step 2 (pay): key 'amount': expected an integer >= 1, got text 'lots'",
        ),
        ("name: x\nsteps:\n  - card: nobody\n", "step 1: key 'card': unknown persona 'nobody'"),
        (
            "name: x\nsteps:\n  - expect: {outcom: approved}\n",
            "step 1: key 'outcom': unknown expect key",
        ),
        (
            "name: x\nsteps:\n  - flow: cash\n    amount: 5\n    wait: 1\n",
            "key 'wait': one action per step",
        ),
        (
            "name: x\nconcurrency: 0\nsteps:\n  - wait: 0\n",
            "key 'concurrency': expected an integer >= 1",
        ),
        ("name: x\nsteps: [\n", "not valid YAML"),
        (
            "name: x\nnetfault: {faults: [{direction: sideways, index: 0, action: drop}]}\n"
            "steps:\n  - wait: 0\n",
            "key 'netfault.faults[0].direction'",
        ),
    ],
)
def test_malformed_files_are_refused_clearly(tmp_path, text, message):
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(ScenarioError) as e:
        load_file(path)
    assert str(e.value).startswith(path)
    assert message in str(e.value)
    status, out = run([path])
    assert status == 2 and message in out


def test_malformed_file_runs_nothing(tmp_path):
    good = write(tmp_path, "name: ok\nsteps:\n  - flow: echo\n", "a.yaml")
    bad = write(tmp_path, "name: bad\nsteps:\n  - keys: maybe\n", "b.yaml")
    status, out = run([good, bad])
    assert status == 2
    assert "PASS" not in out and "b.yaml: scenario 'bad': step 1: key 'keys'" in out


def test_the_whole_library_passes():
    files = sorted(LIBRARY.glob("*.yaml"))
    assert len(files) >= 8
    status, out = run([str(LIBRARY)])
    assert status == 0, out
    assert " 0 failed" in out


def test_the_library_sells_at_every_seeded_store_on_its_own_terminals():
    """Every active terminal of the demo club (so every store) has scenarios in the library,
    and they pass: each terminal number sends the merchant id the club registered it under."""
    by_terminal = {}
    for sc in load_all([str(LIBRARY)]):
        by_terminal.setdefault(sc.terminal.get("number", 1), []).append(sc.name)
    active = {n for n, (_merchant, status) in seed.TERMINALS.items() if status == "active"}
    assert active <= set(by_terminal), sorted(active - set(by_terminal))
    stores = {seed.TERMINALS[n][0] for n in by_terminal if n in seed.TERMINALS}
    assert stores == set(seed.MERCHANTS)
    status, out = run([str(LIBRARY / "stores.yaml")])
    assert status == 0, out


def args_for(*argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def club_balances(club, pan, merchant=seed.DEMO_MERCHANT):
    """{kind: balance} of a card at a merchant (and its club credit), from a club's database."""
    vault = seed.vault_for(club.server.db_path)

    def read(store):
        card = store.card_by_hash(vault.lookup_hash(pan))
        rows = store.accounts_of_card(card["id"])
        return {a["kind"]: a["balance"] for a in rows if a["merchant_id"] in ("", merchant)}

    return club.call(read)


def test_cli_scenario_mode_runs_against_the_outside_club(tmp_path):
    outside = start_demo_club(tmp_path / "outside" / "club.db")
    path = write(
        tmp_path,
        """
        name: a pool sale at the outside club
        terminal: {number: 3}
        club: {slow_delay: 1}
        steps:
          - card: new-member
          - flow: cash
            amount: 100000
            expect: {outcome: approved, result: {points_earned: 20}}
          - drain: true
            expect: {pending: 0, ledger_ok: true, balances: {card: new-member, points: 20}}
    """,
    )
    args = args_for("--scenario", path, "--club", f"127.0.0.1:{outside.port}",
                    "--data-dir", tmp_path / "data")  # fmt: skip
    lines = []
    try:
        with cli.World(args, lines.append) as world:
            assert world.club is None  # no club of its own
            # twice: the terminal's key counter and STAN are kept between runs
            assert cli.MODES["scenario"](args, world) == 0, lines
            assert cli.MODES["scenario"](args, world) == 0, lines
        pool = club_balances(outside, seed.CARD_C, "VAFA00000000002")
    finally:
        outside.stop()
    assert pool["points"] == 40  # both runs sold at the outside club's pool
    out = "\n".join(lines)
    assert "outside club: scenarios run against it as it is" in out
    assert (
        "not checked: 2 expectation(s) that read the club's database (balances, ledger_ok)" in out
    )
    assert "not applied: club settings slow_delay" in out

    path = write(tmp_path, "name: echo\nsteps:\n  - flow: echo\n    expect: {outcome: declined}\n")
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--scenario", path, "--data-dir", str(tmp_path / "data")])
    assert cli.choose_mode(args) == "scenario"
    lines = []
    with cli.World(args, lines.append) as world:
        assert cli.MODES["scenario"](args, world) == 1
    assert any("expected outcome 'declined', got 'approved'" in line for line in lines)


def test_load_mode_small(tmp_path):
    club = start_demo_club(tmp_path / "club.db")
    try:
        lines = []
        status, report = run_load(
            3, 1.5, tmp_path, "127.0.0.1", club.port, club.server.db_path, lines.append
        )
    finally:
        club.stop()
    assert status == 0, lines
    assert report["transactions"] > 3 and report["errors"] == 0
    assert report["ledger_ok"] is True
    assert report["p99_ms"] >= report["p50_ms"] > 0
    assert any(line.startswith("ledger check: OK") for line in lines)


def test_load_against_a_club_that_does_not_know_the_terminals_says_so(tmp_path):
    """The club closes the connection of an unknown initial key id ("unknown initial key id" in
    its log); the terminal side says so, and the summary names the most common error."""
    outside = start_demo_club(tmp_path / "outside" / "club.db")  # no load terminals registered
    args = args_for("--load", 2, "--seconds", 1, "--club", f"127.0.0.1:{outside.port}",
                    "--data-dir", tmp_path / "data")  # fmt: skip
    lines = []
    try:
        with cli.World(args, lines.append) as world:
            assert cli.MODES["load"](args, world) == 1
    finally:
        outside.stop()
    out = "\n".join(lines)
    assert (
        "most common error (2 of 2): sign-on: no answer: the club closed the connection on the "
        "first message without answering (it does not know the terminal's initial key id"
    ) in out
    assert "VT001001: sign-on: no answer" in out and "initial key id 5641464100001001" in out
    assert "No answer from the club" not in out


def test_load_without_a_club_says_it_cannot_be_reached(tmp_path):
    lines = []
    port = closed_port()
    status, report = run_load(2, 0.5, tmp_path, "127.0.0.1", port, None, lines.append)
    assert status == 1 and report["transactions"] == 0
    assert report["dominant_error"]["count"] == 2
    error = report["dominant_error"]["error"]
    assert error.startswith("sign-on: no answer: the club cannot be reached")
    assert f"cannot connect to 127.0.0.1:{port}" in error
    assert f"  most common error (2 of 2): {error}" in lines


def test_cli_load_mode(tmp_path):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--load", "2", "--seconds", "1", "--data-dir", str(tmp_path)])
    assert cli.choose_mode(args) == "load"
    lines = []
    with cli.World(args, lines.append) as world:
        assert cli.MODES["load"](args, world) == 0
    assert any("load: 2 terminal(s)" in line for line in lines)


def test_split_sales_run_each_path(tmp_path):
    """scenarios/split.yaml: every path of a split sale (docs/protocol.md 5.11) passes against
    the demo club; a split step without its tender, with an unknown one, or with an account
    that is no credit is refused before anything runs, naming the key."""
    status, out = run([str(LIBRARY / "split.yaml")])
    assert status == 0, out
    assert "11 passed, 0 failed" in out
    for step, key, words in (
        ("flow: split\n    amount: 100", "tender", "flow split needs tender:"),
        ("flow: split\n    amount: 100\n    tender: card", "tender", "expected one of bank, none"),
        (
            "flow: split\n    amount: 100\n    tender: bank\n    account: bank",
            "account",
            "expected one of club_credit, store_credit",
        ),
        ("flow: cash\n    amount: 100\n    tender: bank", "tender", "flow cash takes no tender"),
    ):
        path = write(tmp_path, f"name: bad\nsteps:\n  - {step}\n")
        status, out = run([path])
        assert status == 2, out
        assert f"key '{key}'" in out and words in out, out
