"""The interactive emulator's ports (no Textual) and its registration in `vafa emulator`."""

import argparse

import pytest

from simulator.pos_emulator import cli
from simulator.pos_emulator.ui.devices import CARDS, CardSlot, visual_line


def test_persian_lines_are_shaped_and_reordered_like_python_bidi():
    reshaper = pytest.importorskip("arabic_reshaper")
    bidi = pytest.importorskip("bidi.algorithm")
    for line in ("پرداخت ۲۷۰٬۰۰۰", "تایید شد", "کارت ****۰۰۱۴"):
        assert visual_line(line) == bidi.get_display(reshaper.reshape(line))


def test_rtl_lines_keep_their_alignment():
    # in a right-to-left line the logical start is on the right: spaces after the text go to
    # its left, spaces before it to its right; a short line is right-aligned in the width
    word = visual_line("تایید شد")
    assert visual_line("تایید شد" + " " * 6, 20) == " " * 12 + word
    assert visual_line(" " * 6 + "تایید شد", 20) == " " * 6 + word + " " * 6
    assert visual_line("تایید شد", 20) == " " * 12 + word
    assert visual_line("Amount 1,000", 20) == "Amount 1,000".ljust(20)
    assert visual_line("تایید شد", bidi="logical") == "تایید شد"


def test_card_slot_swipe_insert_and_masked_events():
    events = []
    slot = CardSlot(events.append)
    assert slot.insert("bank") is False  # a stripe-only card
    assert slot.swipe("bank")
    card = slot.read(100)
    assert card.entry == "021" and card.last4 == "0014"
    assert slot.insert("active")
    assert slot.read(100).pan == CARDS["active"][1]
    assert slot.present(slot.reader.card)
    assert slot.pull_out() == "active"
    assert not slot.present(slot.reader.card)
    slot.cancel()
    assert slot.read(5000) is None  # a cancelled wait returns at once
    text = "\n".join(events)
    assert "*0014" in text
    assert all(pan not in text for _what, pan, _chip in CARDS.values() if pan)


def test_ui_mode_registered_with_its_arguments():
    assert "ui" in cli.MODES
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--ui-lang", "en", "--ui-bidi", "logical"])
    assert (args.ui_lang, args.ui_bidi) == ("en", "logical")
    assert parser.parse_args([]).ui_lang == "fa"
