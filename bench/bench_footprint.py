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
DUKPT counter and STAN are carried forward (the club refuses a reused KSN).
Prints a table and one JSON line.
"""

import argparse
import json
import shutil
import sys
import tempfile
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
    args = parser.parse_args(argv)
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
    }
    rows = [
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
