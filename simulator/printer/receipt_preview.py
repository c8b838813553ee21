"""A receipt as the paper would show it and as the printer would get it, from a flow's result:
`vafa receipt preview` (simulator/printer/cli.py) without writing Python.

    res = load_result("sale.json")                  # checked: ResultError names the key
    header = store_header(merchant_id=..., name=..., name_fa=..., terminal_id=..., time=...)
    made = make_preview(res, header, lang="fa", paper="58")
    made.escpos    # bytes for a raster-58 printer (ESC @ ... GS v 0 ... )
    made.picture   # a Pillow image, 384 dots wide: the paper, decoded back from those bytes
    made.lines     # the layout's text lines, logical order, before any raster

The receipt is built by the terminal's own code (agent/receipt.py document), rendered to ESC/POS
by agent/printing/escpos.py with a raster profile (every line a GS v 0 image drawn by
PillowRasterizer, so Persian needs no code page), and the picture is made from the bytes
(raster.preview): what is shown is what the printer would print.
"""

import json
from pathlib import Path

from agent.printing.escpos import render
from agent.printing.layout import text_lines
from agent.printing.profiles import profile as get_profile
from agent.receipt import COPIES, LANGUAGES, TITLES, document
from agent.steps import new_result

# paper width (mm) -> the raster profile of that paper (agent/printing/profiles.py)
PAPERS = {"58": "raster-58", "80": "raster-80"}
FLOWS = tuple(TITLES["en"])
# a result's keys a receipt prints -> the JSON types allowed (None: the key may be null)
FIELDS = {
    "amount": (int,),
    "discount": (int, None),
    "fee": (int, None),
    "payable": (int, None),
    "points_earned": (int, None),
    "points_balance": (int, None),
    "balance_after": (int, None),
    "credit_validity": (str, None),
    "tier": (str, None),
    "stan": (str, None),
    "rrn": (str, None),
    "bank_reference": (str, None),
    "card_last4": (str, None),
    "club_message": (str, None),
    "confirmed": (bool,),
    "coupon": (str, None),  # a sale with a coupon (docs/protocol.md 5.10): its line
    "coupon_discount": (int, None),
    "coupon_text": (str, None),
    "legs": (list, None),  # a split sale, its void or refund (docs/protocol.md): each leg
}
# a leg's account -> what it is (agent/split.py's legs: credit part first, then the rest)
LEG_ACCOUNTS = {"60": "club credit", "70": "store credit", "40": "bank card", "00": "cash"}
TYPE_WORDS = {int: "a whole number", str: "a string", bool: "true or false", None: "null",
              list: "a JSON array"}  # fmt: skip
JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean", list: "array",
              dict: "object", type(None): "null"}  # fmt: skip


class ResultError(ValueError):
    """A result file that is not a flow's result; the message names the file and the key."""

    exit_code = 2


class Preview:
    def __init__(self, doc, lines, escpos, picture, profile):
        self.doc = doc
        self.lines = lines
        self.escpos = escpos
        self.picture = picture
        self.profile = profile


def _kind_ok(value, kinds):
    for kind in kinds:
        if kind is None and value is None:
            return True
        if kind is int and type(value) is int:
            return True
        if kind not in (None, int) and isinstance(value, kind):
            return True
    return False


def check_result(data, where="result"):
    """A result dict (new_result's keys, with what the data sets) or ResultError."""
    if not isinstance(data, dict):
        raise ResultError(f"{where}: expected a JSON object with a flow's result "
                          f'({{"flow": "bank", "amount": 1200000, ...}})')  # fmt: skip
    flow = data.get("flow")
    if flow not in FLOWS:
        raise ResultError(f'{where}: "flow" must be one of {", ".join(FLOWS)}, not {flow!r}')
    for key, kinds in FIELDS.items():
        if key in data and not _kind_ok(data[key], kinds):
            words = " or ".join(TYPE_WORDS[k] for k in kinds)
            # the value is not echoed: a wrong file may hold a card number where it should not
            got = JSON_TYPES.get(type(data[key]), "value")
            raise ResultError(f"{where}: {key!r} must be {words}, not a JSON {got}")
    last4 = data.get("card_last4")
    if last4 is not None and not (len(last4) == 4 and last4.isdigit() and last4.isascii()):
        # PCI DSS: a receipt shows the last 4 digits of a card, never more
        raise ResultError(f"{where}: 'card_last4' must be the card's last 4 digits")
    for leg in data.get("legs") or ():
        _check_leg(leg, where)
    if "amount" not in data:
        raise ResultError(f"{where}: no 'amount' (rials, a whole number)")
    res = new_result(flow, data["amount"])
    res.update({key: data[key] for key in FIELDS if key in data})
    if "payable" not in data:
        res["payable"] = res["amount"] - (res["discount"] or 0) + (res["fee"] or 0)
    return res


def _check_leg(leg, where):
    """One leg of "legs": {"account": "60", "amount": 700000[, "bank_reference": "..."]}."""
    example = '{"account": "60", "amount": 700000}'
    if not isinstance(leg, dict) or set(leg) - {"account", "amount", "bank_reference"}:
        raise ResultError(f"{where}: each of 'legs' must be an object like {example}")
    if leg.get("account") not in LEG_ACCOUNTS:
        raise ResultError(f"{where}: a leg's 'account' must be one of {', '.join(LEG_ACCOUNTS)}")
    if type(leg.get("amount")) is not int or leg["amount"] < 0:
        raise ResultError(f"{where}: a leg's 'amount' must be a whole number of rials")
    if not isinstance(leg.get("bank_reference", ""), str):
        raise ResultError(f"{where}: a leg's 'bank_reference' must be a string")


def load_result(path):
    """The checked result in a JSON file (ResultError naming the file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ResultError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ResultError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    return check_result(data, str(path))


def store_header(merchant_id, name, name_fa, terminal_id, time):
    """The receipt header a terminal hands agent/receipt.py (its config's store fields)."""
    return {
        "merchant_id": merchant_id,
        "merchant_name": name,
        "merchant_name_fa": name_fa,
        "terminal_id": terminal_id,
        "time": time,
    }


def make_preview(res, header, lang="fa", paper="58", copy="customer", rasterizer=None):
    """The Preview of one copy: layout lines, ESC/POS bytes for the paper's raster profile and
    the picture decoded from those bytes. rasterizer: a PillowRasterizer (default: one found
    on this machine, fonts.FontError when no font draws Persian)."""
    from simulator.printer.raster import PillowRasterizer, preview

    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if copy not in COPIES:
        raise ValueError(f"copy must be one of {', '.join(COPIES)}, not {copy!r}")
    profile = get_profile(PAPERS[paper])
    kind = "void" if res["flow"] == "void" else "sale"
    doc = document(res, copy, header, kind, lang)
    rasterizer = rasterizer or PillowRasterizer(dots=profile["dots"])
    data = render(doc, profile, rasterizer)
    return Preview(
        doc, text_lines(doc, profile["width"]), data, preview(data, profile["dots"]), profile
    )
