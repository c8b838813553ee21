"""Money safety at the edges of the features added together (audit): points held by a sale at
the till, coupons, PINs, settlement; each test names the fault it guards against."""

from simulator.club_server import accounts, registry
from simulator.club_server.ledger import ledger_check
from simulator.club_server.seed import CARD_A
from simulator.club_server.storage import Storage
from tests.club_server.support import balance


def test_points_held_by_a_sale_at_the_till_are_not_converted_by_another_confirmation(
    server, db_path, terminal
):
    # CARD_A: 80 points at the hypermarket, converted by 100 into store credit
    store = Storage(db_path)
    registry.set_program(store, 1, [("point_value_rials", "2000")])
    store.close()
    msg, held = terminal.authorize("008000", 160_000, CARD_A)  # 80 points held
    assert held.code == "00" and balance(server, CARD_A, accounts.POINTS) == (80, 80)
    # another terminal's cash sale earns 50: 130 points, 80 of them held by the sale above;
    # only the 50 free ones may be converted (not enough for a block of 100)
    _, second = terminal.purchase("000000", 500_000, CARD_A)
    assert second.code == "00"
    assert balance(server, CARD_A, accounts.POINTS) == (130, 80)
    # the sale at the till is confirmed: the points it holds are there to take
    assert terminal.confirm(msg, held, CARD_A).code == "00"
    assert balance(server, CARD_A, accounts.POINTS) == (50, 0)
    assert ledger_check(db_path).ok


def test_a_pin_reset_takes_the_card_number_from_standard_input_too(db_path):
    # `--card -`: the number is not an argument (the process list, the shell history)
    import subprocess
    import sys

    from simulator.club_server import pins
    from simulator.club_server.seed import CARD_C, vault_for

    done = subprocess.run(
        [sys.executable, "-m", "vafa", "club-server", "pin", "reset", "--card", "-",
         "--db", db_path],
        input=CARD_C + "\n864209\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert CARD_C not in done.stdout + done.stderr and "864209" not in done.stdout
    store = Storage(db_path)
    vault = vault_for(db_path)
    card = store.card_by_hash(vault.lookup_hash(CARD_C))
    row = pins.record(store, card["id"])
    assert bytes(row["value"]) == vault.pin_value(CARD_C, "864209")
    store.close()


def test_points_held_by_a_sale_at_the_till_are_taken_after_a_refund_clawed_points_back(
    server, db_path, terminal
):
    # the held points are the sale's: a refund's take-back of points meanwhile may leave the
    # card in points debt (loyalty.take_back_points), never the sale's 0220 unconfirmable
    store = Storage(db_path)
    registry.set_program(store, 1, [("point_value_rials", "2000"), ("keep_points", "yes")])
    store.close()
    earned, _ = terminal.purchase("000000", 1_000_000, CARD_A)  # 80 + 100 points
    assert balance(server, CARD_A, accounts.POINTS) == (180, 0)
    msg, held = terminal.authorize("008000", 360_000, CARD_A)  # all 180 held
    assert held.code == "00"
    _, refunded = terminal.purchase("200000", 500_000, CARD_A, {0x06: earned.rrn})
    assert refunded.code == "00"  # 50 points taken back
    assert balance(server, CARD_A, accounts.POINTS) == (130, 180)
    assert terminal.confirm(msg, held, CARD_A).code == "00"
    assert balance(server, CARD_A, accounts.POINTS) == (-50, 0)
    assert ledger_check(db_path).ok
