"""Persian receipts as raster images (simulator/printer/raster.py): the ESC/POS GS v 0 bytes are
decoded back into pictures and compared with renderings made independently.

- raqm path: each decoded line equals the same text drawn by Pillow with libraqm (HarfBuzz
  shaping, FriBiDi order: direction="rtl" on the logical text), pixel for pixel;
- basic path (arabic-reshaper + python-bidi): equals the project's own shaping and order
  (agent/printing/bidi.display) drawn with Pillow's basic layout, pixel for pixel;
- GS v 0 packing equals python-escpos's own bitImageRaster output;
- a whole Persian receipt matches tests/display/golden/receipt_fa_58.png (at most 1% of its
  pixels may differ, for FreeType differences between Pillow builds).
"""

import os
from pathlib import Path

import pytest

PIL = pytest.importorskip("PIL")
pytest.importorskip("escpos")
from PIL import Image, ImageChops, ImageDraw, ImageFont  # noqa: E402

from agent.printing.bidi import display  # noqa: E402
from agent.printing.escpos import raster, render  # noqa: E402
from agent.printing.layout import BOLD, CENTER, Receipt  # noqa: E402
from agent.receipt import document  # noqa: E402
from agent.steps import new_result  # noqa: E402
from simulator.printer.fonts import FontError, find_fonts  # noqa: E402
from simulator.printer.raster import (  # noqa: E402
    PillowRasterizer,
    has_raqm,
    pack,
    preview,
    raster_blocks,
)

GOLDEN = Path(__file__).parent / "golden" / "receipt_fa_58.png"
try:
    FONT, FONT_BOLD = find_fonts()
except FontError:
    FONT = FONT_BOLD = None
pytestmark = pytest.mark.skipif(FONT is None, reason="no font with Persian letters")


def ink(img):
    """Black-and-white, cropped to the ink."""
    bw = img.convert("L").point(lambda p: 255 if p > 127 else 0)
    return bw.crop(bw.getbbox())


def same(a, b):
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


def drawn(text, layout, bold=False, **kwargs):
    engine = ImageFont.Layout.RAQM if layout == "raqm" else ImageFont.Layout.BASIC
    font = ImageFont.truetype(FONT_BOLD if bold else FONT, 24, layout_engine=engine)
    img = Image.new("L", (600, 40), 0)
    ImageDraw.Draw(img).text((20, 30), text, font=font, fill=255, anchor="ls", **kwargs)
    return ink(img)


def persian_doc():
    doc = Receipt(rtl=True)
    doc.text("با تشکر از خرید شما ۱۲۳", CENTER)
    doc.text("خرید با کارت بانکی", CENTER, BOLD)
    doc.row("مبلغ", "۱٬۲۰۰٬۰۰۰")
    return doc


@pytest.mark.skipif(not has_raqm(), reason="Pillow without libraqm")
def test_raqm_lines_equal_harfbuzz_rendering():
    blocks = raster_blocks(render(persian_doc(), "raster-58", PillowRasterizer(384)))
    assert len(blocks) == 3 and all(b.width == 384 for b in blocks)
    assert same(ink(blocks[0]), drawn("با تشکر از خرید شما ۱۲۳", "raqm", direction="rtl"))
    assert same(ink(blocks[1]), drawn("خرید با کارت بانکی", "raqm", True, direction="rtl"))
    # a row: the label at the right end, the value at the left end
    row = blocks[2]
    left, right = row.crop((0, 0, 192, row.height)), row.crop((192, 0, 384, row.height))
    assert same(ink(right), drawn("مبلغ", "raqm", direction="rtl"))
    assert same(ink(left), drawn("۱٬۲۰۰٬۰۰۰", "raqm", direction="rtl"))
    assert right.getbbox()[2] > 180 and left.getbbox()[0] < 10


def test_basic_layout_lines_equal_the_projects_own_shaping():
    blocks = raster_blocks(
        render(persian_doc(), "raster-58", PillowRasterizer(384, layout="basic"))
    )
    assert same(ink(blocks[0]), drawn(display("با تشکر از خرید شما ۱۲۳"), "basic"))
    assert same(ink(blocks[1]), drawn(display("خرید با کارت بانکی"), "basic", True))


def test_gs_v_0_packing_matches_python_escpos():
    from escpos.printer import Dummy

    img = Image.new("L", (24, 5), 0)
    ImageDraw.Draw(img).line((0, 0, 23, 4), fill=255)
    img.putpixel((0, 4), 255)
    ours = raster(*pack(img))
    printer = Dummy()
    printer.image(img.point(lambda p: 255 - p).convert("1"), impl="bitImageRaster", center=False)
    assert ours == printer.output


def sample_receipt():
    res = new_result("bank", 1200000)
    res.update(discount=120000, fee=5000, payable=1085000, stan="000123", rrn="402512345678",
               card_last4="7890", points_earned=120, points_balance=1520, balance_after=350000,
               tier="B", confirmed=True, bank_reference="BK998877",
               club_message="با تشکر از خرید شما؛ ۱۲۰ امتیاز گرفتید")  # fmt: skip
    header = {"merchant_name": "فروشگاه وفا", "merchant_id": "VAFA00000000001",
              "terminal_id": "VT000001", "time": 1710923400}  # fmt: skip
    return document(res, "customer", header, lang="fa")


@pytest.mark.skipif(not has_raqm(), reason="Pillow without libraqm")
def test_whole_persian_receipt_matches_the_golden_picture(tmp_path):
    data = render(sample_receipt(), "raster-58", PillowRasterizer(384))
    picture = preview(data, 384).convert("1")
    picture.save(tmp_path / "receipt_fa_58.png")
    if os.environ.get("VAFA_UPDATE_GOLDEN"):
        picture.save(GOLDEN)
    golden = Image.open(GOLDEN).convert("1")
    assert picture.size == golden.size
    differing = ImageChops.logical_xor(picture, golden).convert("L").histogram()[255]
    assert differing <= picture.width * picture.height // 100, differing
