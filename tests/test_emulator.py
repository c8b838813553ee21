"""`vafa emulator` beyond scenarios and the UI: which store a terminal number sells at, the
sign-on after power-up, what the terminal says when the club closes the connection, and --club
values that name no club. Real club servers on TCP (in this process, or the command's own);
the command itself as a subprocess where its exit status and output are the point."""

import argparse
import subprocess
import sys
import time

import pytest

from hostbridge.client import EcrClient
from simulator.club_server import seed
from simulator.pos_emulator import cli
from simulator.pos_emulator.terminal import start_demo_club
from tests.ecr.support import Emulator
from tests.ports import closed_port


def args_for(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--data-dir", str(tmp_path / "data"), "--headless", *map(str, argv)])


# terminal number -> (merchant id, store, points for a cash sale of 1,000,000 by its program)
STORES = {
    1: ("VAFA00000000001", "Vafa Demo Hypermarket", 100),
    2: ("VAFA00000000001", "Vafa Demo Hypermarket", 100),
    3: ("VAFA00000000002", "Abi Pool", 200),
    4: ("VAFA00000000003", "Ketab Bookshop", 50),
}


@pytest.mark.parametrize("number", sorted(STORES))
def test_each_terminal_number_sells_at_the_store_the_club_registered_it_for(tmp_path, number):
    merchant, store, points = STORES[number]
    lines = []
    with cli.World(args_for(tmp_path, "--terminal", number), lines.append) as world:
        sale = world.terminal.engine.purchase_cash(1_000_000)
        printed = "\n".join("\n".join(r) for r in world.terminal.receipts())
    assert f"terminal: VT{number:06d} at merchant {merchant} ({store})" in lines[1]
    assert lines[2] == "sign-on: approved (00)"
    assert sale["outcome"] == "approved", sale
    assert sale["points_earned"] == points  # priced by that store's program
    assert store in printed


def test_the_merchant_is_the_one_the_club_registered_not_a_table(tmp_path):
    """A club that registered terminal 7 at the pool (no seed table knows it): the terminal
    asks its club and sells at the pool."""
    db = tmp_path / "data" / "club.db"
    db.parent.mkdir(parents=True)
    seed.seed_demo(str(db))
    seed.add_load_terminals(str(db), 1, first=7, merchant_id="VAFA00000000002")
    lines = []
    with cli.World(args_for(tmp_path, "--terminal", 7), lines.append) as world:
        sale = world.terminal.engine.purchase_cash(1_000_000)
    assert "terminal: VT000007 at merchant VAFA00000000002 (Abi Pool)" in lines[1]
    assert lines[2] == "sign-on: approved (00)"
    assert sale["outcome"] == "approved" and sale["points_earned"] == 200


def test_merchant_option_overrides_the_registered_one(tmp_path):
    lines = []
    args = args_for(tmp_path, "--terminal", 1, "--merchant", "VAFA00000000003")
    with cli.World(args, lines.append) as world:
        assert world.terminal.engine.config["merchant_id"] == "VAFA00000000003"
    assert lines[2] == (
        "sign-on: refused (03, terminal not registered): the club has no active terminal "
        "VT000001 at merchant VAFA00000000003"
    )


def test_the_emulator_signs_on_after_power_up(tmp_path):
    lines = []
    with cli.World(args_for(tmp_path), lines.append) as world:
        stats = dict(world.club.server.stats)
        signed_on = world.terminal.signed_on
    assert signed_on["response_code"] == "00" and signed_on["outcome"] == "approved"
    assert stats["messages"] == 1  # the 0800, before any sale
    assert "sign-on: approved (00)" in lines


def test_an_inactive_terminal_is_told_at_sign_on(tmp_path):
    lines = []
    with cli.World(args_for(tmp_path, "--terminal", 99), lines.append) as world:
        assert world.terminal.signed_on["outcome"] == "declined"
    assert (
        "sign-on: refused (03, terminal not registered): the club has no active terminal "
        "VT000099 at merchant VAFA00000000001"
    ) in lines


def test_a_terminal_the_club_does_not_know_says_the_club_closed_the_connection(tmp_path):
    """The club logs "unknown initial key id" and closes; the terminal says so at sign-on and
    after each sale, instead of only "No answer from the club"."""
    lines = []
    with cli.World(args_for(tmp_path, "--terminal", 1001), lines.append) as world:
        sale = world.terminal.engine.purchase_cash(100_000)
        why = world.terminal.explain(sale)
    sign_on = next(line for line in lines if line.startswith("sign-on: "))
    assert sign_on.startswith(
        "sign-on: no answer: the club closed the connection on the first message without answering"
    )
    assert "initial key id 5641464100001001 of terminal VT001001" in sign_on
    assert sale["response_code"] is None and sale["message"].startswith("No answer from the club")
    assert why == "the club closed the connection without answering"


def test_a_second_copy_of_a_terminal_is_told_why_the_outside_club_refuses_it(tmp_path):
    """Two data directories are two copies of terminal 1 to an outside club: the one behind
    reuses key counters the club saw (63), and the sign-on says what to do."""
    club = start_demo_club(tmp_path / "outside" / "club.db")
    address = f"127.0.0.1:{club.port}"
    try:
        with cli.World(args_for(tmp_path / "a", "--club", address), [].append) as world:
            assert world.terminal.signed_on["outcome"] == "approved"
            world.terminal.engine.echo()
        time.sleep(1.1)  # a new second: the copy's sign-on is not a repeat of the first one's
        lines = []
        with cli.World(args_for(tmp_path / "b", "--club", address), lines.append) as world:
            signed_on = world.terminal.signed_on
    finally:
        club.stop()
    assert signed_on["response_code"] == "63"
    assert "another copy of the terminal (another --data-dir" in signed_on["message"]
    assert f"sign-on: {signed_on['message']}" in lines


def test_ecr_sale_on_the_bookshop_terminal(tmp_path):
    """Cashier software drives terminal 4 over its ECR port: the bookshop's program prices it
    (10 % off a bank-card purchase for tier A, no fee)."""
    emulator = Emulator(tmp_path, "tcp://127.0.0.1:0", extra=("--terminal", "4")).start()
    try:
        with EcrClient(emulator.cashier) as ecr:
            sale = ecr.sale(1_200_000, "INV-B1", "07")
    finally:
        emulator.stop()
    assert "sign-on: approved (00)" in emulator.lines
    assert sale.ok, sale
    assert sale.discount == 120_000 and sale.fee == 0 and sale.payable == 1_080_000
    assert "Ketab Bookshop" in sale.receipt


def vafa(*argv, timeout=60):
    cmd = [sys.executable, "-m", "vafa", *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("value", "mode", "message"),
    [
        ("clubhost", (), "--club 'clubhost': no port; expected HOST:PORT, e.g. 127.0.0.1:8583"),
        ("clubhost:http", (), "--club 'clubhost:http': port 'http' is not a number"),
        ("127.0.0.1:0", (), "--club '127.0.0.1:0': port 0 is not in 1..65535"),
        ("CLOSED", (), "no club answers there"),
        ("CLOSED", ("--scenario", "scenarios/codes.yaml"), "no club answers there"),
        ("clubhost", ("--load", "2"), "--club 'clubhost': no port"),
    ],
)
def test_a_bad_club_is_one_line_and_exit_2(tmp_path, value, mode, message):
    value = value.replace("CLOSED", f"127.0.0.1:{closed_port()}")
    done = vafa("emulator", "--headless", "--data-dir", tmp_path / "data", "--club", value, *mode)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("vafa emulator: ") and done.stderr.count("\n") == 1
    assert message in done.stderr and "Traceback" not in done.stderr
