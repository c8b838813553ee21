"""The pixel panel's font (agent/display/glyphs.py) is what simulator/printer/glyphgen.py makes
from the Debian fonts, and covers every character the screens can show."""

import os
from pathlib import Path

import pytest

from agent.display import glyphs
from agent.display.screens import SCREENS
from agent.printing.bidi import display
from simulator.printer import glyphgen

FONTS = (glyphgen.DEFAULT_FONT, glyphgen.LATIN_FONT)


@pytest.mark.skipif(
    not all(os.path.exists(f) for f in FONTS), reason="fonts-dejavu-core/-extra missing"
)
def test_committed_module_is_what_the_generator_makes():
    pytest.importorskip("PIL")
    committed = (Path(glyphs.__file__)).read_text(encoding="utf-8")
    assert glyphgen.build() == committed


def test_every_character_of_every_screen_has_a_glyph():
    missing = set()
    for entry in SCREENS.values():
        for lang in ("en", "fa"):
            for template in entry[lang]:
                for ch in display(template) + "0123456789,۰۱۲۳۴۵۶۷۸۹٬":
                    if glyphs.CHARS.find(ch) < 0:
                        missing.add(ch)
    assert missing == set()


def test_index_and_data_agree():
    n = len(glyphs.CHARS)
    assert len(glyphs.INDEX) == 3 * n
    end = 0
    for i in range(n):
        offset = (glyphs.INDEX[3 * i] << 8) | glyphs.INDEX[3 * i + 1]
        width = glyphs.INDEX[3 * i + 2]
        assert offset == end and width > 0
        end += 2 * width
    assert end == len(glyphs.DATA)
