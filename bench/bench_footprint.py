"""Benchmark (not a test): the firmware's footprint on the unix MicroPython.

    python bench/bench_footprint.py [--low 32768] [--high 1048576] [--step 4096]

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

Every trial starts from a copy of the same device folder, so each one does the same work; the
DUKPT counter and STAN are carried forward (the club refuses a reused KSN). The least heap is
found by binary search, which assumes a run that passes with N bytes passes with more; heap
fragmentation can break that by a few KB (a larger heap collects later), so read it as +-4 KB.

Also the receipts of one sale (both copies; `--receipts` for only these): CPython time per
sale and MicroPython garbage per sale (gc.mem_free with the collector off), modules from
source, for the text printer the device uses (RecordingPrinter: agent/printing/layout.py
text_lines), ESC/POS ascii-58 and the Persian iran-system-80.

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
from flashing import install, keys, provision, targets
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
    "t = module.start(manifest, boot.confirm)\n"
    "t2 = time.ticks_us()\n"
    "gc.collect()\n"
    "alloc = gc.mem_alloc()\n"
    f"r = t.purchase('cash', 450000, {CARD!r})\n"
    "print('FOOTPRINT', r['outcome'], time.ticks_diff(t1, t0), time.ticks_diff(t2, t1),"
    " alloc, code)\n"
)


START = "import boot\nboot.run()\nprint('FOOTPRINT approved')\n"
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


def receipts(runs=300):
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
    micropython = Path(sys.executable).parent / "micropython"
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


def trial(template, heap, script=SALE):
    """(completed, fields) of one run of `script` with this heap, on a copy of the template."""
    with tempfile.TemporaryDirectory(prefix="vafa-fp-") as tmp:
        folder = Path(tmp) / "dev"
        shutil.copytree(template, folder)
        out = VirtualDevice(folder, heapsize=heap).run(script)
        for name in CARRY:
            if (folder / name).exists():
                shutil.copyfile(folder / name, Path(template) / name)
    for line in out.stdout.splitlines():
        if line.startswith("FOOTPRINT approved"):
            return True, [int(x) for x in line.split()[2:]]
    return False, None


def smallest(template, low, high, step, script=SALE):
    ok, _ = trial(template, high, script)
    if not ok:
        raise SystemExit(f"no purchase even with {high} bytes of heap")
    while high - low > step:
        mid = (low + high) // 2 // step * step
        if trial(template, mid, script)[0]:
            high = mid
        else:
            low = mid
    return high


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=int, default=32 * 1024)
    parser.add_argument("--high", type=int, default=1024 * 1024)
    parser.add_argument("--step", type=int, default=4096)
    parser.add_argument("--receipts", action="store_true", help="only the receipts of a sale")
    args = parser.parse_args(argv)
    sale_receipts = receipts()
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
            bundle = bundles.build(tmp / "bundle", k.firmware)
            kit = provision.write_kit(provision.demo_kit(k, club_port=club.port), tmp / "kit")
            first = tmp / "first"
            install.install(VirtualDevice(first), targets.get("unix"), bundle, kit, k)
            later = tmp / "later"
            shutil.copytree(first, later)
            out = VirtualDevice(later).run(START)  # provision + confirm once, keep that state
            assert "FOOTPRINT approved" in out.stdout, out.stdout + out.stderr
            # the first start without a sale: `later` shares its identity and uses the KSNs
            no_sale = SALE.replace(
                f"t.purchase('cash', 450000, {CARD!r})", "{'outcome': 'approved'}"
            )
            _, (_, start_us, _, _) = trial(first, args.high, no_sale)
            _, (verify2_us, start2_us, alloc, code) = trial(later, args.high)
            min_first = smallest(first, args.low, args.high, args.step, START)
            min_later = smallest(later, args.low, args.high, args.step)
        finally:
            club.stop()
    mpy = sum(e["size"] for e in bundle.files.values())
    result = {
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
        "min_heap_first_start": min_first,
        "step": args.step,
        "receipts": sale_receipts,
    }
    rows += [
        ("bundle", f"{len(bundle.files)} files, {bundle.size} bytes ({mpy} of .mpy)"),
        ("boot: verify signature + hashes", f"{result['boot_verify_ms']} ms"),
        ("boot: import + start (recover)", f"{result['boot_import_start_ms']} ms"),
        ("first start (unwrap key block, DUKPT)", f"{result['first_start_ms']} ms"),
        ("heap held after start", f"{alloc} bytes"),
        ("  of which the imported modules", f"{code} bytes (bytecode, functions, tables)"),
        ("least heap, boot + purchase", f"{min_later} bytes (step {args.step})"),
        ("least heap, first start (no sale)", f"{min_first} bytes"),
        ("least heap less the modules", f"{min_later - code} bytes (frozen on a board)"),
    ]
    for name, value in rows:
        print(f"{name:40} {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
