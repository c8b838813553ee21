"""`vafa receipt preview`: a receipt to PNG and ESC/POS bytes from the command line, run as a
user runs it (a subprocess of `python -m vafa`), and the font lookup behind it.

- the PNG decodes with Pillow at the paper's width in dots (58 mm: 384, 80 mm: 576);
- the ESC/POS file starts with ESC @, holds GS v 0 raster images, and decodes back into the
  very picture written beside it;
- a Persian receipt carries the store's Persian name (the layout's first line, and its raster
  line equals that name drawn alone), an English one the English name;
- a result file is checked (one line naming the file and key; a card number never echoed);
- no font that draws Persian: exit 2, one line naming what was tried and what to install.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PIL")
pytest.importorskip("escpos")
from PIL import Image, ImageChops

from agent.printing.decode import parse
from agent.printing.layout import BOLD, CENTER
from simulator.printer import fonts
from simulator.printer.cli import DEMO_STORE
from simulator.printer.raster import PillowRasterizer, preview, raster_blocks
from simulator.printer.receipt_preview import (
    ResultError,
    check_result,
    make_preview,
    store_header,
)
from simulator.printer.samples import DEMOS, demo_result

VAFA = [sys.executable, "-m", "vafa"]
NOON = 1710923400  # 1403-01-01 12:00 Tehran
try:
    FONTS = fonts.find_fonts()
except fonts.FontError:
    FONTS = None
needs_font = pytest.mark.skipif(FONTS is None, reason="no font with Persian letters here")


def vafa(*argv, env=None, cwd=None):
    return subprocess.run(
        [*VAFA, *argv], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


def header():
    store = DEMO_STORE
    return store_header(store["merchant_id"], store["merchant_name"],
                        store["merchant_name_fa"], store["terminal_id"], NOON)  # fmt: skip


@needs_font
@pytest.mark.parametrize(("paper", "dots"), [("58", 384), ("80", 576)])
def test_png_and_escpos_for_each_paper(tmp_path, paper, dots):
    out = tmp_path / f"r{paper}"
    done = vafa("receipt", "preview", "--demo", "bank", "--lang", "fa", "--paper", paper,
                "--out", str(out), "--time", str(NOON), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["png"] == f"{out}.png" and said["escpos"] == f"{out}.escpos"
    picture = Image.open(f"{out}.png")
    picture.load()
    assert picture.width == dots == said["width_dots"]
    assert picture.height > 600  # a whole receipt, not one line
    data = Path(f"{out}.escpos").read_bytes()
    assert data[:2] == b"\x1b\x40"  # ESC @
    commands = [name for name, _ in parse(data)]
    assert commands.count("GS v 0") >= 15  # a raster image per printed line
    assert {img.width for img in raster_blocks(data)} == {dots}
    # the picture written is the picture these bytes print
    again = preview(data, dots).convert("L")
    assert ImageChops.difference(again, picture.convert("L")).getbbox() is None


@needs_font
def test_persian_receipt_prints_the_stores_persian_name(tmp_path):
    made = make_preview(demo_result("club_credit"), header(), "fa", "58")
    assert made.lines[0].strip() == "هایپرمارکت نمونه وفا"
    assert "Vafa Demo Hypermarket" not in "\n".join(made.lines)
    # and on the paper: the first raster line is that name drawn alone, bold and centered
    rasterizer = PillowRasterizer(dots=384, font=FONTS[0], bold_font=FONTS[1])
    name_alone = rasterizer.image([("هایپرمارکت نمونه وفا", CENTER)], BOLD, True)
    first = raster_blocks(made.escpos)[0]
    assert first.size == name_alone.size
    assert ImageChops.difference(first, name_alone.point(lambda p: 255 if p > 127 else 0)) \
        .getbbox() is None  # fmt: skip
    english = make_preview(demo_result("club_credit"), header(), "en", "58")
    assert english.lines[0].strip() == "Vafa Demo Hypermarket"


@needs_font
def test_store_name_from_the_options_and_a_terminals_config(tmp_path):
    config = tmp_path / "config.json"
    fields = {"terminal_id": "VT000042", "merchant_id": "SHOP1", "merchant_name": "Ketab",
              "merchant_name_fa": "کتاب"}  # fmt: skip
    config.write_text(json.dumps(fields))
    out = tmp_path / "k"
    done = vafa("receipt", "preview", "--config", str(config), "--store-name-fa",
                "کتاب‌فروشی کتاب", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "picture: " in done.stdout and "384 x " in done.stdout


@needs_font
def test_every_demo_transaction_renders_in_both_languages():
    for name in DEMOS:
        for lang in ("fa", "en"):
            made = make_preview(demo_result(name), header(), lang, "80")
            assert made.picture.width == 576 and made.escpos.startswith(b"\x1b@")
            text = "\n".join(made.lines)
            assert "****0014" in text or "****۰۰۱۴" in text  # the last 4 digits only
            assert "9879110000000014" not in text


@needs_font
def test_a_result_file_renders_and_a_bad_one_is_one_line(tmp_path):
    good = tmp_path / "sale.json"
    sale = {"flow": "bank", "amount": 50000, "discount": 5000, "card_last4": "4242",
            "stan": "000777", "confirmed": True}  # fmt: skip
    good.write_text(json.dumps(sale))
    done = vafa("receipt", "preview", "--result", str(good), "--lang", "en",
                "--out", str(tmp_path / "sale"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = make_preview(check_result(json.loads(good.read_text())), header(), "en", "58")
    assert any(line.startswith("Payable") and line.endswith("45,000") for line in made.lines)

    pan = "9879110000000014"
    for body, expected in (
        ("[1, 2]", "expected a JSON object"),
        ('{"flow": "lunch", "amount": 1}', '"flow" must be one of bank, club_credit'),
        ('{"flow": "bank", "amount": "12"}', "'amount' must be a whole number, not a JSON string"),
        (f'{{"flow": "bank", "amount": 1, "card_last4": "{pan}"}}', "'card_last4' must be the"),
        (f'{{"flow": "bank", "amount": 1, "rrn": {pan}}}', "'rrn' must be a string or null"),
        ("{not json", "not JSON"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(body)
        done = vafa("receipt", "preview", "--result", str(bad), "--out", str(tmp_path / "b"))
        assert done.returncode == 2, body
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"vafa receipt preview: {bad}: ") and expected in done.stderr
        assert pan not in done.stderr
    assert not (tmp_path / "b.png").exists()
    with pytest.raises(ResultError):
        check_result({"flow": "bank"})


def test_no_font_with_persian_letters_is_exit_2_in_one_line(tmp_path, monkeypatch):
    # a machine without DejaVu: no known folder holds it and fontconfig knows no font
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                     "<fontconfig></fontconfig>\n")  # fmt: skip
    monkeypatch.setattr(fonts, "DEJAVU_DIRS", (str(tmp_path),))
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    monkeypatch.delenv(fonts.ENV, raising=False)
    with pytest.raises(fonts.FontError) as caught:
        fonts.find_fonts()
    assert "no font with Persian letters found (tried DejaVu Sans, fc-match" in str(caught.value)
    assert "apt-get install fonts-dejavu-core" in str(caught.value)

    env = dict(os.environ, VAFA_RECEIPT_FONT=str(tmp_path / "missing.ttf"))
    done = vafa("receipt", "preview", "--out", str(tmp_path / "r"), env=env)
    assert done.returncode == 2
    assert done.stderr == (
        f"vafa receipt preview: $VAFA_RECEIPT_FONT {tmp_path / 'missing.ttf'}: no such file\n"
    )
    latin_only = next(Path("/usr/share/fonts").rglob("DejaVuMathTeXGyre.ttf"), None)
    if latin_only is not None:  # a real font, but without Persian letters
        done = vafa("receipt", "preview", "--font", str(latin_only), "--out", str(tmp_path / "r"))
        assert done.returncode == 2 and "not a font with Persian letters" in done.stderr
    assert not (tmp_path / "r.png").exists()


def test_demos_are_listed():
    done = vafa("receipt", "demos", "--json")
    assert done.returncode == 0
    assert set(json.loads(done.stdout)) == set(DEMOS)


def test_a_split_results_legs_are_checked_and_carried(tmp_path):
    """A split sale's result file (docs/receipts.md): its legs are kept as given; a leg that
    is not one is a one-line error naming what a leg must be."""
    legs = [{"account": "60", "amount": 700000},
            {"account": "40", "amount": 385000, "bank_reference": "BK1"}]  # fmt: skip
    res = check_result({"flow": "bank", "amount": 1085000, "legs": legs})
    assert res["legs"] == legs
    for bad, expected in (
        ({"legs": "60"}, "'legs' must be a JSON array"),
        ({"legs": [["60", 1]]}, "each of 'legs' must be an object"),
        ({"legs": [{"account": "50", "amount": 1}]}, "'account' must be one of 60, 70, 40, 00"),
        ({"legs": [{"account": "60", "amount": "1"}]}, "'amount' must be a whole number"),
        ({"legs": [{"account": "60", "amount": 1, "pan": "x"}]}, "must be an object like"),
    ):
        with pytest.raises(ResultError) as e:
            check_result({"flow": "bank", "amount": 1, **bad})
        assert expected in str(e.value), (bad, str(e.value))


def test_the_split_demos_print_each_leg_in_both_languages():
    """vafa receipt preview --demo split / split_cash: under "Paid by", each leg on its own
    row (agent/receipt.py), the bank leg's reference too."""
    for name, rows in (
        ("split", (("Club credit", "700,000"), ("Bank card", "385,000"), ("Bank ref", "BK998880"))),
        ("split_cash", (("Store credit", "80,000"), ("Cash", "220,000"))),
    ):
        english = make_preview(demo_result(name), header(), "en", "58").lines
        assert "Paid by" in english, english
        for label, value in rows:
            assert any(line.strip().startswith(label) and line.endswith(value)
                       for line in english), (label, english)  # fmt: skip
        persian = "\n".join(make_preview(demo_result(name), header(), "fa", "58").lines)
        assert "پرداخت شده با" in persian
    persian = "\n".join(make_preview(demo_result("split"), header(), "fa", "58").lines)
    assert "اعتبار باشگاه" in persian and "کارت بانکی" in persian and "۳۸۵٬۰۰۰" in persian
