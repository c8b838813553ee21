"""Stores, chains, terminals and programs changed by the operator (registry.py, registry_cli.py),
seen by a running club server at its next request; store credit scoped to a chain."""

import json
import sqlite3
import subprocess
import sys

import pytest

from simulator.club_server import accounts, registry, schema_additions, storage
from simulator.club_server.admin import AdminError
from simulator.club_server.program_settings import SettingError, check_value
from simulator.club_server.seed import CARD_A, CARD_C, CARD_OTHER_STORE
from simulator.club_server.storage import Storage
from tests.club_server.client import Terminal
from tests.club_server.support import balance

VAFA = [sys.executable, "-m", "vafa", "club-server"]
BRANCH = "VAFA00000000004"  # the hypermarket's second store, chain VAFA-HYPER (seed.CHAINS)
STORE_CREDIT = "007000"


def vafa(db, *words, stdin=None):
    done = subprocess.run([*VAFA, *words, "--db", db], capture_output=True, text=True,
                          input=stdin, timeout=30)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def branch_terminal(server):
    t = Terminal(server.port, "VT000005", BRANCH, "5641464100000005").connect()
    yield t
    t.close()


def test_a_running_server_sees_a_terminal_deactivated_by_another_process(db_path, terminal):
    assert terminal.purchase("000000", 100_000, CARD_C)[1].code == "00"
    done = vafa(db_path, "terminal", "deactivate", "VT000001")
    assert done.returncode == 0, done.stderr
    assert "answered 03" in done.stdout
    _, refused = terminal.authorize("000000", 100_000, CARD_C)
    assert refused.code == "03"
    listed = vafa(db_path, "terminal", "list", "--json")
    rows = {r["terminal_id"]: r["status"] for r in json.loads(listed.stdout)["rows"]}
    assert rows["VT000001"] == "inactive" and rows["VT000002"] == "active"
    assert vafa(db_path, "terminal", "change", "VT000001", "--status", "active").returncode == 0
    assert terminal.purchase("000000", 100_000, CARD_C)[1].code == "00"


def test_a_store_deactivated_by_another_process_refuses_its_terminals(db_path, terminal):
    assert vafa(db_path, "store", "deactivate", "VAFA00000000001").returncode == 0
    assert terminal.authorize("000000", 100_000, CARD_C)[1].code == "03"


def test_no_deactivation_or_move_while_an_approval_waits_for_its_confirmation(
    server, db_path, terminal
):
    msg, approved = terminal.authorize("006000", 100_000, CARD_A)
    assert approved.code == "00"
    for argv in (("terminal", "deactivate", "VT000001"),
                 ("terminal", "change", "VT000001", "--store", BRANCH),
                 ("store", "deactivate", "VAFA00000000001")):  # fmt: skip
        done = vafa(db_path, *argv)
        assert done.returncode == 2 and "waiting for confirmation" in done.stderr, done.stderr
    assert terminal.confirm(msg, approved, CARD_A).code == "00"  # not lost
    assert vafa(db_path, "terminal", "deactivate", "VT000001").returncode == 0


def test_a_registered_store_and_terminal_sell_at_once(server, db_path):
    assert vafa(db_path, "chain", "add", "BOOKS", "--name", "Book chain").returncode == 0
    done = vafa(db_path, "store", "add", "VAFA00000000009", "--name", "Ketab 2",
                "--name-fa", "کتاب‌فروشی ۲", "--program", "3", "--chain", "BOOKS")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = vafa(db_path, "terminal", "add", "VT000042", "--number", "42",
                "--store", "VAFA00000000009")  # fmt: skip
    assert done.returncode == 0 and "5641464100000042" in done.stdout, done.stderr
    t = Terminal(server.port, "VT000042", "VAFA00000000009", "5641464100000042").connect()
    first, second = t.purchase("000000", 200_000, CARD_C)
    assert (first.code, second.code) == ("00", "00")
    assert first.tags[0x01] == "10"  # the bookshop's program: 1 point per 20,000 rials
    t.close()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("store", "add", "VAFA0000000001X7", "--name", "a", "--name-fa", "b", "--program", "1"),
         "1..15 ASCII letters or digits"),
        (("store", "add", "NEWSTORE", "--name", "a", "--name-fa", "b", "--program", "99"),
         "no program 99"),
        (("store", "add", "NEWSTORE", "--name", "a", "--name-fa", "b", "--program", "1",
          "--chain", "NOPE"), "no chain NOPE"),
        (("store", "add", "VAFA00000000001", "--name", "a", "--name-fa", "b", "--program", "1"),
         "exists already"),
        (("store", "change", "NOSUCH", "--name", "x"), "no store NOSUCH"),
        (("store", "change", "VAFA00000000001"), "nothing to change"),
        (("terminal", "add", "VT1", "--ikid", "5641464100000077", "--store", BRANCH),
         "8 ASCII letters or digits"),
        (("terminal", "add", "VT000077", "--ikid", "56414641000000ZZ", "--store", BRANCH),
         "16 hex digits"),
        (("terminal", "add", "VT000077", "--ikid", "5641464100000001", "--store", BRANCH),
         "is terminal VT000001's"),
        (("terminal", "add", "VT000077", "--number", "78", "--store", BRANCH),
         "--number 78 is terminal VT000078"),
        (("terminal", "add", "VT000077", "--number", "77", "--store", "NOSUCH"),
         "no store NOSUCH"),
        (("terminal", "deactivate", "VT999999"), "no terminal VT999999"),
        (("chain", "add", "VAFA-HYPER", "--name", "x"), "exists already"),
        (("program", "set", "1", "discount_a_bp", "12x"), "discount_a_bp '12x': expected"),
        (("program", "set", "1", "convert_points", "0"), "go together"),
        (("program", "set", "1", "no_such", "1"), "no program setting 'no_such'"),
        (("program", "set", "1", "keep_points", "1", "fee_bp"), "'fee_bp' has no value"),
        (("program", "show", "77"), "no program 77"),
        (("replace-card", "--old", "0998", "--new", "9879110000000105"), "no club card"),
    ],
)  # fmt: skip
def test_bad_register_changes_are_one_line_and_change_nothing(db_path, argv, words):
    before = Storage(db_path).table_counts()
    done = vafa(db_path, *argv)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr
    assert Storage(db_path).table_counts() == before


def test_program_settings_are_checked_against_their_table():
    assert check_value("discount_a_bp", "1,500") == 1500
    assert check_value("keep_points", "Yes") == "1"
    assert check_value("store_credit_scope", "chain") == "chain"
    assert check_value("discount_accounts", "60, 40") == "40,60"
    for key, text in (("discount_a_bp", "10001"), ("discount_a_bp", "-1"),
                      ("discount_a_bp", "۱۰"), ("keep_points", "maybe"),
                      ("store_credit_scope", "world"), ("discount_accounts", "40,70"),
                      ("credit_validity_days", "0"), ("name", "")):  # fmt: skip
        with pytest.raises(SettingError, match=key):
            check_value(key, text)


def test_a_program_change_is_saved_whole_and_the_server_uses_it(server, db_path, terminal):
    done = vafa(db_path, "program", "set", "1", "convert_points", "0", "convert_credit", "0",
                "rials_per_point", "5000")  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = vafa(db_path, "program", "show", "1", "--json")
    settings = json.loads(shown.stdout)["settings"]
    assert (settings["convert_points"], settings["rials_per_point"]) == (0, 5000)
    first, _ = terminal.purchase("000000", 100_000, CARD_C)
    assert first.tags[0x01] == "20"  # 1 point per 5,000 rials from the next request on
    added = vafa(db_path, "program", "add", "--name", "copy of the pool", "--like", "2")
    assert added.returncode == 0 and "program 4 added" in added.stdout
    copy = json.loads(vafa(db_path, "program", "show", "4", "--json").stdout)
    assert copy["settings"]["rials_per_point"] == 5000
    assert copy["settings"]["name"] == "copy of the pool"


def test_store_credit_of_a_chain_is_spent_at_its_other_store(server, db_path, branch_terminal):
    first, second = branch_terminal.purchase(STORE_CREDIT, 200_000, CARD_A)
    assert (first.code, second.code) == ("00", "00")
    assert first.amounts == {"70P1": 200_000, "7002": 300_000}
    # taken from the credit the hypermarket gave, which stays that store's account
    assert balance(server, CARD_A, accounts.STORE, "VAFA00000000001") == (300_000, 0)
    # credit of a store outside the chain is still 57
    assert branch_terminal.authorize(STORE_CREDIT, 100_000, CARD_OTHER_STORE)[1].code == "57"
    _, short = branch_terminal.authorize(STORE_CREDIT, 300_001, CARD_A)
    assert short.code == "51"
    # the branch's program back to store scope: the hypermarket's credit is not spent there
    assert vafa(db_path, "program", "add", "--name", "branch only", "--like", "1").returncode == 0
    assert vafa(db_path, "program", "set", "4", "store_credit_scope", "store").returncode == 0
    assert vafa(db_path, "store", "change", BRANCH, "--program", "4").returncode == 0
    assert branch_terminal.authorize(STORE_CREDIT, 100_000, CARD_A)[1].code == "57"


def test_a_void_of_a_chain_purchase_puts_the_credit_back(server, branch_terminal):
    msg, first = branch_terminal.authorize(STORE_CREDIT, 100_000, CARD_A)
    assert branch_terminal.confirm(msg, first, CARD_A).code == "00"
    assert balance(server, CARD_A, accounts.STORE, "VAFA00000000001") == (400_000, 0)
    assert branch_terminal.reverse(msg, CARD_A, first.rrn).code == "00"
    assert balance(server, CARD_A, accounts.STORE, "VAFA00000000001") == (500_000, 0)


def test_an_old_database_gets_the_additions_once(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in storage._statements(storage.SCHEMA):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (?, 0)", (storage.SCHEMA_VERSION,))
    conn.execute("INSERT INTO programs (name) VALUES ('p')")
    conn.execute("INSERT INTO merchants VALUES ('OLDSTORE', 'old', 'قدیمی', 1, 'active')")
    conn.close()
    store = Storage(path)  # opening it adds them
    assert store.merchant("OLDSTORE")["chain_id"] is None
    assert registry.add_chain(store, "C1", "chain", now=0.0)["chain_id"] == "C1"
    assert schema_additions.ensure(store._conn) == []  # idempotent
    store.close()
    with pytest.raises(AdminError, match="exists already"):
        registry.add_chain(Storage(path), "C1", "chain", now=0.0)


def test_a_new_tier_rule_prices_each_members_next_sale(server, db_path, terminal):
    assert terminal.purchase("000000", 6_000_000, CARD_C)[1].code == "00"
    server.sweep()  # counted in full: tier C (B needs 10,000,000)
    assert terminal.authorize("004000", 1_000_000, CARD_C)[1].tags[0x03] == "C"
    refused = vafa(db_path, "tiers", "set", "tier_b_volume", "60,000,000")
    assert refused.returncode == 2 and "tier A needs more than tier B" in refused.stderr
    done = vafa(db_path, "tiers", "set", "tier_b_volume", "5,000,000")
    assert done.returncode == 0, done.stderr
    shown = json.loads(vafa(db_path, "tiers", "show", "--json").stdout)["tiers"]
    assert shown == {"tier_window_days": 90, "tier_a_volume": 50_000_000,
                     "tier_b_volume": 5_000_000}  # fmt: skip
    _, priced = terminal.authorize("004000", 1_000_000, CARD_C)
    assert priced.tags[0x03] == "B" and priced.amounts["40D1"] == 100_000
