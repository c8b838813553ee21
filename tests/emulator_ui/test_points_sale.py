"""A sale paid with points from the emulator's keypad (F10, keys.py; docs/testing.md keys;
docs/protocol.md 2.2, 008000): the terminal shows the points left for the customer to accept
(screen confirm_points), the log says the result, the receipt is a POINTS PURCHASE. Against the
demo club (tier A member: 80 points at the hypermarket), as tests/emulator_ui/test_split_sale.

Run through Textual's pilot.
"""

import pytest

pytest.importorskip("textual")

from simulator.club_server import registry
from simulator.club_server.storage import Storage
from tests.emulator_ui.test_discoverable import terminal  # noqa: F401
from tests.emulator_ui.test_split_sale import log_of, split_sale


def give_points_a_value(tmp_path, rials):
    store = Storage(str(tmp_path / "club.db"))  # the fixture's demo club
    try:
        registry.set_program(store, 1, [("point_value_rials", str(rials))])
    finally:
        store.close()


def test_f10_pays_with_points_and_the_customer_accepts_the_points_left(terminal, tmp_path):  # noqa: F811
    give_points_a_value(tmp_path, 2_000)
    app, asked, _status = split_sale(terminal, 0, "f10", 100_001)  # 51 points of 80
    assert asked == ["confirm_points"]
    assert "29" in " ".join(app.shown_at["confirm_points"]), app.shown_at
    log = log_of(app)
    assert "result: points approved (00)" in log, log
    assert "POINTS PURCHASE" in app.paper_text(), log
    assert not terminal.bank.charges()


def test_f10_without_a_point_value_is_declined_57(terminal):  # noqa: F811
    app, asked, _status = split_sale(terminal, 0, "f10", 100_000)
    assert asked == []
    assert "(57)" in log_of(app), log_of(app)


def test_f10_refused_on_the_terminal_spends_nothing(terminal, tmp_path):  # noqa: F811
    give_points_a_value(tmp_path, 2_000)
    app, asked, _status = split_sale(terminal, 0, "f10", 100_001, {"confirm_points": False})
    assert asked == ["confirm_points"]
    assert "result: points cancelled" in log_of(app) and app.paper_text() == "", log_of(app)
    again, _asked, _status = split_sale(terminal, 0, "f10", 160_000)  # all 80: none were spent
    assert "result: points approved (00)" in log_of(again), log_of(again)
