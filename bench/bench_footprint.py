"""Benchmark (not a test): the firmware's footprint on the unix MicroPython.

    python bench/bench_footprint.py [--low 32768] [--high 1048576] [--step 4096]
                                    [--micropython BINARY] [--no-cryptolib]

Builds the bundle (TEST ONLY demo key), installs it with the demo terminal's kit on a virtual
device (a folder, each boot a fresh `micropython -X heapsize=N` process in it), starts the
seeded club server, and measures:

- the bundle: files and bytes (what the device's flash holds per slot);
- boot time: verification (signature + every file's SHA-256) and import + start of the
  bundle, measured on the device with time.ticks_us;
- the heap the imported bundle takes (gc.mem_alloc after boot.run(), collected);
- by binary search on -X heapsize, the smallest heap in which boot + one cash purchase
  (0100/0110, 0220/0230 with the club over TCP, receipts) completes on a provisioned terminal,
  and the smallest in which the first start (verify, unwrap the TR-31 key block, build the
  DUKPT registers, recover, confirm) completes.

The purchase is measured two ways: modules from the filesystem (the slot's .mpy files; the
unix port copies their bytecode into the heap) and modules in place from a ROMFS image of the
same bundle (flashing/romfs.py; `vfs.VfsRom`, bytecode and str/bytes constants stay in the
image). The unix port has no flash to map, so the image is read into a bytearray, the first
thing the process allocates, and lives for the whole run; on a board it is the ROMFS partition
(flash). The ROMFS figures are therefore stated as the least -X heapsize minus the image's
length, and the heap after start likewise less the image. A sale's working set is the least
heap less the heap held after start.

Every trial starts from a copy of the same device folder, so each one does the same work; the
DUKPT counter and STAN are carried forward (the club refuses a reused KSN). The least heap is
found by binary search, which assumes a run that passes with N bytes passes with more; heap
fragmentation breaks that (a larger heap collects later; a one-line change moved the bare
binary search's answer by 12 KB), so the search then moves up until every step in the WINDOW
(32 KB) above the figure passes too: the least heap is one the run passes from.

Also the receipts of one sale (both copies; `--receipts` for only these): CPython time per
sale and MicroPython garbage per sale (gc.mem_free with the collector off), modules from
source, for the text printer the device uses (RecordingPrinter: agent/printing/layout.py
text_lines), ESC/POS ascii-58 and the Persian iran-system-80.

`--micropython BINARY` runs the device (and the receipts' garbage count) on another unix
MicroPython build, for example a 32-bit one built from source (docs/performance.md, "32-bit
builds"); the default is the `micropython` on PATH or next to this Python. `--no-cryptolib`
measures the pure-Python AES on a build that has cryptolib: right after the bundle's entry
module is imported, before the terminal starts, the "cryptolib" backend is taken out of
agent.protocol.crypto.BACKENDS (a build without cryptolib needs no switch). The JSON line
names the binary and says whether its build has cryptolib, its word size and which AES
backend the sale used.

`--board unix-x86|mps2-an385` measures the frozen firmware instead (bench/footprint_boards.py):
built from --micropython-src or VAFA_MICROPYTHON_SRC through flashing.firmware (cached), the
agent frozen in, an in-process club, boot + one cash purchase; the least heap by binary search
(unix: -X heapsize; QEMU: a build per MICROPY_HEAP_SIZE), the heap after each import group and
each phase of the sale, firmware and frozen-module bytes. `--heap N` skips the search and runs
the purchase once with N bytes. Defaults there: --low 16384 --high 262144 --step 1024.

Prints a table and one JSON line.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flashing import bundle as bundles
from flashing import install, keys, provision, romfs, targets
from flashing.device import VirtualDevice
from simulator.pos_emulator.terminal import start_demo_club

CARD = "9879110000000014"
SALE = (
    "import gc, time, boot\n"
    "t0 = time.ticks_us()\n"
    "slot, manifest = boot.select()\n"
    "t1 = time.ticks_us()\n"
    "import sys\n"
    "sys.path.insert(0, boot.slot_dir(slot))\n"
    "gc.collect()\n"
    "a0 = gc.mem_alloc()\n"
    "module = __import__(manifest['entry'], None, None, ['_'])\n"
    "gc.collect()\n"
    "code = gc.mem_alloc() - a0\n"
    "# NO-CRYPTOLIB\n"
    "t = module.start(manifest, boot.confirm)\n"
    "t2 = time.ticks_us()\n"
    "gc.collect()\n"
    "alloc = gc.mem_alloc()\n"
    f"r = t.purchase('cash', 450000, {CARD!r})\n"
    "print('FOOTPRINT', r['outcome'], time.ticks_diff(t1, t0), time.ticks_diff(t2, t1),"
    " alloc, code)\n"
)


# ROMFS: the image read into the heap first (it stands for flash), mounted at /rom, and the
# bundle's modules imported from there instead of the slot folder.
IMAGE = "bundle.img"
ROM_MOUNT = (
    "import gc, os, vfs\n"
    f"img = bytearray(os.stat({IMAGE!r})[6])\n"
    f"f = open({IMAGE!r}, 'rb')\n"
    "f.readinto(img)\n"
    "f.close()\n"
    "vfs.mount(vfs.VfsRom(img), '/rom')\n"
)
SALE_ROM = ROM_MOUNT + SALE.replace(
    "sys.path.insert(0, boot.slot_dir(slot))", "sys.path.insert(0, '/rom')"
)
assert SALE_ROM != ROM_MOUNT + SALE

# boot.run() spelt out, so that --no-cryptolib can act between the import and the start.
START = (
    "import boot\n"
    "manifest, module = boot.start()\n"
    "# NO-CRYPTOLIB\n"
    "module.start(manifest, boot.confirm)\n"
    "print('FOOTPRINT approved')\n"
)
# What --no-cryptolib puts in place of that marker line: the terminal then uses the default
# backend of a build without cryptolib (the pure AES).
NO_CRYPTOLIB = (
    "from agent.protocol import crypto as _crypto\n"
    "_crypto.BACKENDS.pop('cryptolib', None)\n"
    "del _crypto\n"
)
# Which AES backend the terminal uses, and the build: printed by one run after the purchase.
PROBE = (
    "import sys\n"
    "from agent.protocol import crypto\n"
    "try:\n"
    "    import cryptolib\n"
    "    has = True\n"
    "except ImportError:\n"
    "    has = False\n"
    "print('FOOTPRINT-BUILD', crypto.default_backend(), has, 32 if sys.maxsize < 1 << 32 else 64)\n"
)


def without_cryptolib(script):
    """script with the pure AES forced (the marker line replaced)."""
    assert "# NO-CRYPTOLIB\n" in script
    return script.replace("# NO-CRYPTOLIB\n", NO_CRYPTOLIB)


# Blobs carried back into the template after each trial: the club refuses a reused KSN, so the
# DUKPT counter (and the STAN) must move on even though every trial starts from the same copy.
CARRY = ("vafa/data/dukpt", "vafa/data/stan")


# The receipts of one sale: a club credit purchase with every row, a club message that wraps.
RECEIPTS = """
import gc, sys
from agent import receipt
from agent.ports import RecordingPrinter
from agent.printing.printer import RecordingEscPosPrinter
RES = {"flow": "club_credit", "outcome": "approved", "card_last4": "0014", "amount": 450000,
       "discount": 22500, "fee": 0, "payable": 427500, "stan": "000123", "rrn": "123456789012",
       "points_earned": 42, "points_balance": 1042, "balance_after": 1572500, "tier": "gold",
       "credit_validity": "1405/12/29", "confirmed": True,
       "club_message": "Thank you for shopping with us. Your next purchase earns double points."}
HEAD = {"merchant_name": "VAFA DEMO STORE", "merchant_id": "MID000000000001 ",
        "terminal_id": "VT000001", "time": 1700000000}
FA = dict(HEAD, language="fa")
CASES = (("text", RecordingPrinter, (), HEAD),
         ("ascii-58", RecordingEscPosPrinter, ("ascii-58",), HEAD),
         ("iran-system-80", RecordingEscPosPrinter, ("iran-system-80", "fa"), FA))
def sale(printer, head):
    for copy in receipt.COPIES:
        receipt.print_copy(printer, RES, copy, head)
"""
RECEIPTS_MPY = (
    RECEIPTS
    + """
for name, cls, args, head in CASES:
    sale(cls(*args), head)
    p = cls(*args)
    gc.collect()
    gc.disable()
    free = gc.mem_free()
    sale(p, head)
    print("GARBAGE", name, free - gc.mem_free())
    gc.enable()
"""
)


def receipts(runs=300, micropython=None):
    """{case: (CPython ms per sale, MicroPython bytes of garbage per sale)}."""
    space = {}
    exec(RECEIPTS, space)
    out = {}
    for name, cls, args, head in space["CASES"]:
        best = None
        for _ in range(5):  # best of 5 batches: the VM is shared
            t0 = time.perf_counter()
            for _ in range(runs):
                space["sale"](cls(*args), head)
            ms = (time.perf_counter() - t0) / runs * 1000
            best = ms if best is None else min(best, ms)
        out[name] = [round(best, 3), None]
    micropython = Path(micropython or Path(sys.executable).parent / "micropython")
    if micropython.exists():
        root = Path(__file__).resolve().parent.parent
        env = dict(os.environ, MICROPYPATH=".frozen:.")
        run = subprocess.run([str(micropython), "-X", "heapsize=4194304", "-c", RECEIPTS_MPY],
                             cwd=root, env=env, capture_output=True, text=True)  # fmt: skip
        for line in run.stdout.splitlines():
            if line.startswith("GARBAGE"):
                _, name, n = line.split()
                out[name][1] = int(n)
    return out


def trial(template, heap, script=SALE, micropython=None, lines=None):
    """(completed, fields) of one run of `script` with this heap, on a copy of the template;
    the run's output lines are added to `lines` when given."""
    with tempfile.TemporaryDirectory(prefix="vafa-fp-") as tmp:
        folder = Path(tmp) / "dev"
        shutil.copytree(template, folder)
        out = VirtualDevice(folder, heapsize=heap, micropython=micropython).run(script)
        for name in CARRY:
            if (folder / name).exists():
                shutil.copyfile(folder / name, Path(template) / name)
    if lines is not None:
        lines.extend(out.stdout.splitlines())
    for line in out.stdout.splitlines():
        if line.startswith("FOOTPRINT approved"):
            return True, [int(x) for x in line.split()[2:]]
    return False, None


WINDOW = 32 * 1024  # the least heap must pass at every step up to this much above it


def smallest(template, low, high, step, script=SALE, micropython=None):
    ok, _ = trial(template, high, script, micropython)
    if not ok:
        raise SystemExit(f"no purchase even with {high} bytes of heap")
    while high - low > step:
        mid = (low + high) // 2 // step * step
        if trial(template, mid, script, micropython)[0]:
            high = mid
        else:
            low = mid
    # Passing is not monotonic (fragmentation): move up until every step of the window above
    # passes too, so the figure is one the run passes from, not an isolated lucky size.
    n = high + step
    while n < high + WINDOW:
        if trial(template, n, script, micropython)[0]:
            n += step
        else:
            high = n = n + step
    return high


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=int)
    parser.add_argument("--high", type=int)
    parser.add_argument("--step", type=int)
    parser.add_argument("--board", help="the frozen firmware of this board: unix-x86, mps2-an385")
    parser.add_argument(
        "--micropython-src", help="MicroPython source (--board; default $VAFA_MICROPYTHON_SRC)"
    )
    parser.add_argument("--heap", type=int, help="--board: one purchase with this heap, no search")
    parser.add_argument("--cache", type=Path, help="--board: the firmware cache folder")
    parser.add_argument("--receipts", action="store_true", help="only the receipts of a sale")
    parser.add_argument("--source", type=Path, help="build from this tree's agent/ (before/after)")
    parser.add_argument(
        "--micropython", type=Path, help="the unix MicroPython binary (default: on PATH)"
    )
    parser.add_argument(
        "--no-cryptolib", action="store_true", help="the pure AES even where cryptolib imports"
    )
    args = parser.parse_args(argv)
    if args.board:
        return board_main(args, parser)
    args.low = 32 * 1024 if args.low is None else args.low
    args.high = 1024 * 1024 if args.high is None else args.high
    args.step = 4096 if args.step is None else args.step
    mp = str(args.micropython.resolve()) if args.micropython else None
    if mp and not Path(mp).is_file():
        parser.error(f"--micropython {args.micropython}: no such file")
    sale, start, sale_rom = SALE, START, SALE_ROM
    if args.no_cryptolib:
        sale, start, sale_rom = (
            without_cryptolib(SALE),
            without_cryptolib(START),
            without_cryptolib(SALE_ROM),
        )
    sale_receipts = receipts(micropython=mp)
    rows = [(f"receipts of a sale, {name}", f"{ms} ms CPython, {g} bytes of garbage MicroPython")
            for name, (ms, g) in sale_receipts.items()]  # fmt: skip
    if args.receipts:
        for name, value in rows:
            print(f"{name:40} {value}")
        print(json.dumps({"receipts": sale_receipts}))
        return 0
    k = keys.test_keys()
    with tempfile.TemporaryDirectory(prefix="vafa-fp-") as tmp:
        tmp = Path(tmp)
        club = start_demo_club(tmp / "club.db", fresh=True)
        try:
            bundle = bundles.build(
                tmp / "bundle", k.firmware, source_root=args.source or bundles.REPO
            )
            kit = provision.write_kit(provision.demo_kit(k, club_port=club.port), tmp / "kit")
            first = tmp / "first"
            install.install(
                VirtualDevice(first, micropython=mp), targets.get("unix"), bundle, kit, k
            )
            later = tmp / "later"
            shutil.copytree(first, later)
            out = VirtualDevice(later, micropython=mp).run(start)  # provision + confirm once
            assert "FOOTPRINT approved" in out.stdout, out.stdout + out.stderr
            # the first start without a sale: `later` shares its identity and uses the KSNs
            no_sale = sale.replace(
                f"t.purchase('cash', 450000, {CARD!r})", "{'outcome': 'approved'}"
            )
            _, (_, start_us, _, _) = trial(first, args.high, no_sale, mp)
            lines = []
            _, (verify2_us, start2_us, alloc, code) = trial(
                later, args.high, sale + PROBE, mp, lines
            )
            build = next(x.split()[1:] for x in lines if x.startswith("FOOTPRINT-BUILD"))
            min_first = smallest(first, args.low, args.high, args.step, start, mp)
            min_later = smallest(later, args.low, args.high, args.step, sale, mp)
            image = len(romfs.build(bundle.path, later / IMAGE))
            ok, (_, rom_start_us, rom_alloc, rom_code) = trial(later, args.high, sale_rom, mp)
            assert ok, "no purchase from ROMFS"
            rom_alloc -= image  # the image stands for flash
            min_rom = smallest(later, args.low + image, args.high + image, args.step, sale_rom, mp)
            min_rom -= image
        finally:
            club.stop()
    mpy = sum(e["size"] for e in bundle.files.values())
    result = {
        "micropython": mp or targets.micropython_binary(),
        "word_bits": int(build[2]),
        "build_has_cryptolib": build[1] == "True",
        "aes_backend": build[0],
        "bundle_files": len(bundle.files),
        "bundle_bytes": bundle.size,
        "mpy_bytes": mpy,
        "boot_verify_ms": round(verify2_us / 1000, 1),
        "boot_import_start_ms": round(start2_us / 1000, 1),
        "first_start_ms": round(start_us / 1000, 1),
        "heap_after_start": alloc,
        "heap_modules": code,
        "heap_purchase_less_modules": min_later - code,
        "min_heap_purchase": min_later,
        "sale_working_set": min_later - alloc,
        "min_heap_first_start": min_first,
        "romfs_image_bytes": image,
        "romfs_import_start_ms": round(rom_start_us / 1000, 1),
        "romfs_heap_modules": rom_code,
        "romfs_heap_after_start": rom_alloc,
        "romfs_min_heap_purchase": min_rom,
        "romfs_sale_working_set": min_rom - rom_alloc,
        "step": args.step,
        "receipts": sale_receipts,
    }
    rows += [
        ("MicroPython", f"{result['micropython']} ({build[2]}-bit)"),
        ("AES backend of the sale", f"{build[0]} (cryptolib in the build: {build[1]})"),
        ("bundle", f"{len(bundle.files)} files, {bundle.size} bytes ({mpy} of .mpy)"),
        ("boot: verify signature + hashes", f"{result['boot_verify_ms']} ms"),
        ("boot: import + start (recover)", f"{result['boot_import_start_ms']} ms"),
        ("first start (unwrap key block, DUKPT)", f"{result['first_start_ms']} ms"),
        ("heap held after start", f"{alloc} bytes"),
        ("  of which the imported modules", f"{code} bytes (bytecode, functions, tables)"),
        ("least heap, boot + purchase", f"{min_later} bytes (step {args.step})"),
        ("  a sale's working set", f"{min_later - alloc} bytes (least heap less after start)"),
        ("least heap, first start (no sale)", f"{min_first} bytes"),
        ("least heap less the modules", f"{min_later - code} bytes (an estimate, not measured)"),
        ("ROMFS image of the bundle", f"{image} bytes (flash on a board)"),
        ("ROMFS: import + start (recover)", f"{result['romfs_import_start_ms']} ms"),
        ("ROMFS: heap held after start", f"{rom_alloc} bytes (less the image)"),
        ("  of which the imported modules", f"{rom_code} bytes (functions, tables, qstrs)"),
        ("ROMFS: least heap, boot + purchase", f"{min_rom} bytes (-X heapsize less the image)"),
        ("  a sale's working set", f"{min_rom - rom_alloc} bytes (least heap less after start)"),
    ]
    for name, value in rows:
        print(f"{name:40} {value}")
    print(json.dumps(result))
    return 0


def board_main(args, parser):
    """--board: the frozen firmware's figures (bench/footprint_boards.py), a table and JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import footprint_boards

    from flashing import firmware

    try:
        firmware.get_board(args.board)
        src = firmware.find_source(args.micropython_src)
    except firmware.FirmwareError as e:
        parser.error(str(e))
    r = footprint_boards.measure(
        args.board,
        src,
        source=args.source,
        low=args.low or 16 * 1024,
        high=args.heap or args.high or 256 * 1024,
        step=args.step or 1024,
        cache=args.cache,
        no_cryptolib=args.no_cryptolib,
        progress=lambda text: print(text, file=sys.stderr),
        search=args.heap is None,
    )
    before = r["heap_before_sale"]
    rows = [
        ("board", f"{r['board']} ({r['aes_backend']} AES, {r['modules']} frozen modules)"),
        ("firmware text (code + read-only data)", f"{r['firmware_bytes']} bytes"),
        ("  of which frozen modules", f"{r['frozen_bytes']} bytes (frozen_content.o)"),
    ]
    prev = 0
    for name, n in r["marks"]:
        rows.append((f"heap after {name}", f"{n} bytes (+{n - prev})"))
        prev = n
    least = r["min_heap_purchase"]
    if least is None:
        rows.append(("purchase with --heap", f"{r['heap_tried']} bytes: {r['outcome']}"))
    else:
        rows.append(("least heap, boot + purchase", f"{least} bytes (step {r['step']})"))
        rows.append(
            ("  a sale's working set", f"{r['sale_working_set']} bytes (least less {before})")
        )
    for name, value in rows:
        print(f"{name:40} {value}")
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
