"""`vafa club-server magic`: the magic cards and amounts, read from the server's own rule table
(simulator/club_server/outcomes.py), as a user runs the command."""

import csv
import io
import json
import subprocess
import sys

import pytest

from simulator.club_server import magic, outcomes

VAFA = [sys.executable, "-m", "vafa", "club-server", "magic"]


def run(*args):
    done = subprocess.run([*VAFA, *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def test_json_lists_every_rule_of_the_outcome_table_as_the_server_matches_it():
    listed = json.loads(run("--json"))["rules"]
    assert len(listed) == len(outcomes.RULES)
    table = outcomes.OutcomeTable()
    phases = {"phase-one": "010", "phase-two": "022", "reversal": "042"}
    for row in listed:
        phase = phases[row["phase"]]
        if row["trigger"] == "card":
            rule = table.match(phase, card=row["card"])
            assert row["amount"] is None
        elif row["trigger"] == "coupon":  # 78 with the rule's reason (docs/protocol.md 5.10)
            rule = table.coupon(row["coupon"])
            assert row["response_code"] == "78" and row["coupon"] == "QA78" + rule.argument
            assert row["what"] == rule.note
            continue
        else:
            rule = table.match(phase, amount=row["amount"])
            assert row["card"] is None
        assert rule is not None, row  # the server really reacts to what is listed
        assert row["effect"] == rule.effect
        assert row["response_code"] == (rule.argument if rule.effect == "respond" else None)
        assert row["what"] == rule.note
    by_card = {row["card"]: row for row in listed if row["card"]}
    assert by_card["9879119000000056"]["response_code"] == "05"  # docs/testing.md
    assert by_card["9879119000000924"]["effect"] == "drop"
    amounts = {row["amount"]: row for row in listed if row["amount"]}
    assert amounts[1_000_051]["response_code"] == "51"
    assert amounts[1_000_912] == dict(amounts[1_000_912], phase="phase-two", effect="drop")


def test_text_and_csv_forms():
    text = run()
    assert "  1,000,062  0100/0101  answers 62: blocked card" in text
    assert "9879119000000932  0100/0101  processes it, then every 0110 sent twice" in text
    rows = list(csv.DictReader(io.StringIO(run("--csv"))))
    assert [r["what"] for r in rows] == [rule.note for rule in outcomes.RULES]
    assert tuple(rows[0]) == magic.FIELDS


def test_a_new_rule_is_listed_without_touching_the_listing():
    extra = outcomes.Rule("amount", 1_000_013, outcomes.PHASE_ONE, outcomes.RESPOND, "13", "x")
    rows = magic.rows((*outcomes.RULES, extra))
    assert rows[-1]["amount"] == 1_000_013 and rows[-1]["response_code"] == "13"


@pytest.mark.parametrize("bad", [["--db", "x.db"], ["--json", "--csv"]])
def test_bad_options_are_one_line_and_exit_2(bad):
    done = subprocess.run([*VAFA, *bad], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
