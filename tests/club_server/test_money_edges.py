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
