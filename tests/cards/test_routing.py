"""Routing on CPython: the seeded cards route as docs/testing.md says, FLOWS_FOR names real
engine methods, docs/card.md lists every range of agent/card_io/bins.py, and any number routes
or raises UnknownCardRange."""

import inspect
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from agent.card_io import bins, routing
from agent.card_io.errors import UnknownCardRange
from agent.card_io.routing import FLOWS_FOR, REFUND_ACCOUNT_FOR, route
from agent.engine import Engine
from agent.flows import REFUND_ACCOUNTS
from simulator.club_server.seed import CARDS, all_card_numbers

ROOT = Path(__file__).resolve().parents[2]


def section(doc, title):
    text = (ROOT / doc).read_text()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end > 0 else len(text)]


def test_every_seeded_card_routes():
    linked_banks = {c["bank"] for c in CARDS.values() if "bank" in c}
    for pan in all_card_numbers():
        kind, name = route(pan)
        if pan.startswith("987911"):
            assert (kind, name) == ("club", "vafa"), pan
        else:
            assert kind == "bank", pan
    for pan in linked_banks:
        assert route(pan) == ("bank", "Bank Melli Iran")


def test_flows_are_engine_methods():
    for kind, flows in FLOWS_FOR.items():
        for flow in flows:
            method = getattr(Engine, flow, None)
            assert callable(method), (kind, flow)
            assert "card" in inspect.signature(method).parameters, (kind, flow)
    for accounts in REFUND_ACCOUNT_FOR.values():
        assert accounts is None or set(accounts) <= set(REFUND_ACCOUNTS)


def test_card_md_lists_every_range():
    doc = section("docs/card.md", "## Magnetic stripe, manual entry and routing")
    rows = {}
    for line in doc.splitlines():
        prefixes = re.findall(r"`(\d{6,8})`", line.split("|")[1]) if line.startswith("|") else []
        for prefix in prefixes:
            rows[prefix] = line
    for prefix, key, name, name_fa in routing.rows(bins.BANKS):
        assert prefix in rows, prefix
        assert name in rows[prefix] and name_fa in rows[prefix] and f"`{key}`" in rows[prefix]
    for prefix, program, _name, name_fa in routing.rows(bins.CLUB_RANGES):
        assert prefix in rows and program in rows[prefix] and name_fa in rows[prefix], prefix
    known = {row[0] for row in routing.rows(bins.BANKS) + routing.rows(bins.CLUB_RANGES)}
    assert set(rows) <= known, set(rows) - known


@given(st.text("0123456789", min_size=6, max_size=19))
def test_any_number_routes_or_is_unknown(pan):
    try:
        kind, name = route(pan)
    except UnknownCardRange as e:
        assert e.iin == pan[:6]
        assert len(pan) == 6 or pan[:7] not in str(e)  # at most the first 6 digits (PCI DSS)
        return
    assert kind in FLOWS_FOR and name
