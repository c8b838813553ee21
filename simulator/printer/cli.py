"""`vafa receipt`: look at a receipt before a printer does.

    vafa receipt preview [--demo NAME | --result FILE.json] [--lang fa|en] [--paper 58|80]
                         [--copy customer|merchant] [--out PREFIX] [--font FILE] [--config FILE]
    vafa receipt demos [--json]

`preview` writes PREFIX.png (the paper, drawn from the bytes) and PREFIX.escpos (the bytes a
raster printer of that paper gets: ESC @, one GS v 0 image per line, the QR code, the cut).
The transaction is a named demo one (`vafa receipt demos` lists them; default bank) or a
flow's result in a JSON file (the keys of agent/steps.new_result: flow, amount, discount, fee,
payable, card_last4, stan, rrn, ...). The store is the demo club's hypermarket unless
--config (a terminal's config.json: merchant_id, merchant_name, merchant_name_fa,
terminal_id) or the --merchant-id / --store-name / --store-name-fa / --terminal-id options say
otherwise; a Persian receipt prints the Persian name. The font is found on this machine
(simulator/printer/fonts.py) unless --font names one; none that draws Persian is exit 2.
"""

import json
import time
from pathlib import Path

from agent.receipt import COPIES, LANGUAGES
from simulator.printer import samples
from simulator.printer.fonts import ENV, FontError
from simulator.printer.receipt_preview import PAPERS, ResultError
from vafa import args as types
from vafa.errors import BadInput

OUT_DIR = Path("var/receipts")
# the demo club's store and terminal 1 (simulator/club_server/seed.py MERCHANTS, TERMINALS)
DEMO_STORE = {
    "merchant_id": "VAFA00000000001",
    "merchant_name": "Vafa Demo Hypermarket",
    "merchant_name_fa": "هایپرمارکت نمونه وفا",
    "terminal_id": "VT000001",
}
ERRORS = ((FontError, 2), (ResultError, 2))


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    pre = sub.add_parser(
        "preview",
        help="a receipt to PNG and ESC/POS bytes",
        description="Render one copy of a receipt to PREFIX.png and PREFIX.escpos.",
    )
    what = pre.add_mutually_exclusive_group()
    what.add_argument("--demo", choices=sorted(samples.DEMOS),
                      help="a demo transaction by name (default bank; receipt demos)")  # fmt: skip
    what.add_argument("--result", metavar="FILE.json", type=types.existing_file("--result"),
                      help="a flow's result as a JSON object (flow, amount, ...)")  # fmt: skip
    pre.add_argument("--lang", default="fa", choices=LANGUAGES,
                     help="the receipt's language (default fa)")  # fmt: skip
    pre.add_argument("--paper", default="58", choices=sorted(PAPERS),
                     help="paper width in mm: 58 (384 dots, default) or 80 (576)")  # fmt: skip
    pre.add_argument("--copy", default="customer", choices=COPIES,
                     help="which copy (default customer)")  # fmt: skip
    pre.add_argument("--out", metavar="PREFIX",
                     help=f"output files PREFIX.png and PREFIX.escpos "
                          f"(default {OUT_DIR}/NAME-LANG-PAPER)")  # fmt: skip
    pre.add_argument("--font", metavar="FILE", type=types.existing_file("--font"),
                     help=f"TTF/OTF font with Persian letters (default: found on this "
                          f"machine, or ${ENV})")  # fmt: skip
    pre.add_argument("--bold-font", metavar="FILE", type=types.existing_file("--bold-font"),
                     help="the bold face (default: the font's -Bold sibling)")  # fmt: skip
    pre.add_argument("--config", metavar="config.json", type=types.existing_file("--config"),
                     help="a terminal's config.json: its store and terminal fields")  # fmt: skip
    pre.add_argument("--merchant-id", metavar="ID",
                     type=types.text("--merchant-id", 1, 15, printable=True),
                     help="merchant id printed (default the demo store's)")  # fmt: skip
    pre.add_argument("--store-name", metavar="NAME", type=types.text("--store-name", 1, 48),
                     help="the store's name on an English receipt")  # fmt: skip
    pre.add_argument("--store-name-fa", metavar="NAME", type=types.text("--store-name-fa", 1, 48),
                     help="the store's Persian name on a Persian receipt")  # fmt: skip
    pre.add_argument("--terminal-id", metavar="ID",
                     type=types.text("--terminal-id", 1, 8, printable=True),
                     help="terminal id printed (default VT000001)")  # fmt: skip
    pre.add_argument("--time", metavar="SECONDS", type=types.whole("--time", 0, None, "seconds"),
                     help="when, in Unix seconds (default now; printed Jalali)")  # fmt: skip
    pre.add_argument("--json", action="store_true", help="one JSON object: the files written")
    demos = sub.add_parser("demos", help="list the named demo transactions")
    demos.add_argument("--json", action="store_true", help="one JSON object: name -> text")


def _config_store(path):
    """The store fields of a terminal's config.json (BadInput naming the file and key)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"--config {path}: not a JSON file ({e})", "--config") from None
    if not isinstance(data, dict):
        raise BadInput(f"--config {path}: expected a JSON object (a config.json)", "--config")
    store = {}
    for key in DEMO_STORE:
        if key in data:
            if not isinstance(data[key], str):
                raise BadInput(f"--config {path}: {key!r} must be a string", "--config")
            store[key] = data[key]
    return store


def _store(args):
    store = dict(DEMO_STORE)
    if args.config is not None:
        store.update(_config_store(args.config))
    given = {
        "merchant_id": args.merchant_id,
        "merchant_name": args.store_name,
        "merchant_name_fa": args.store_name_fa,
        "terminal_id": args.terminal_id,
    }
    store.update({key: value for key, value in given.items() if value is not None})
    return store


def do_preview(args):
    from simulator.printer.fonts import find_fonts
    from simulator.printer.raster import PillowRasterizer
    from simulator.printer.receipt_preview import load_result, make_preview, store_header

    if args.result is not None:
        res, name = load_result(args.result), Path(args.result).stem
    else:
        name = args.demo or "bank"
        res = samples.demo_result(name)
    store = _store(args)
    header = store_header(
        store["merchant_id"],
        store["merchant_name"],
        store["merchant_name_fa"],
        store["terminal_id"],
        int(time.time()) if args.time is None else args.time,
    )
    regular, bold = find_fonts(args.font, args.bold_font)
    dots = {"58": 384, "80": 576}[args.paper]
    made = make_preview(res, header, args.lang, args.paper, args.copy,
                        PillowRasterizer(dots=dots, font=regular, bold_font=bold))  # fmt: skip
    prefix = Path(args.out) if args.out else OUT_DIR / f"{name}-{args.lang}-{args.paper}"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    png, escpos = Path(f"{prefix}.png"), Path(f"{prefix}.escpos")
    made.picture.save(png)
    escpos.write_bytes(made.escpos)
    width, height = made.picture.size
    if args.json:
        print(json.dumps({
            "png": str(png), "escpos": str(escpos), "width_dots": width, "height_dots": height,
            "escpos_bytes": len(made.escpos), "paper_mm": int(args.paper),
            "profile": PAPERS[args.paper], "language": args.lang, "copy": args.copy,
            "flow": res["flow"], "font": regular,
        }, ensure_ascii=False))  # fmt: skip
    else:
        print(f"picture: {png} ({width} x {height} dots, {args.paper} mm paper)")
        print(f"ESC/POS: {escpos} ({len(made.escpos):,} bytes for a {PAPERS[args.paper]} "
              f"printer: cat it to the printer's device)")  # fmt: skip
        print(f"font:    {regular}")
    return 0


def do_demos(args):
    if args.json:
        print(json.dumps({n: text for n, (text, _) in samples.DEMOS.items()}, ensure_ascii=False))
        return 0
    width = max(len(n) for n in samples.DEMOS)
    for name, (text, _) in samples.DEMOS.items():
        print(f"{name:{width}}  {text}")
    return 0


ACTIONS = {"preview": do_preview, "demos": do_demos}


def run(args):
    return ACTIONS[args.action](args)
