"""The footprint of the frozen firmware on a board: `bench_footprint.py --board NAME`.

The firmware is built through flashing.firmware (cached per input; the agent is a snapshot of
the git HEAD's agent/ and flashing/cmodules/, or `--source DIR`, so that other people saving
files in the working tree do not change the firmware between the trials of one search). One
script (SALE below) runs on the board with nothing on sys.path but the frozen modules: the
engine, an in-process club (the agent's own protect/HostDukpt, answering 0110/0230 the way
tests/flashing/test_firmware.py does) and one cash purchase. The board has no network, so the
club lives in the same heap: its share (HostDukpt, the club's own deriving and sealing) is
counted in every figure, a real terminal does not carry it.

- unix-x86: the 32-bit binary, a fresh process per trial, `-X heapsize=N`;
- mps2-an385: the Cortex-M3 image under qemu-system-arm, the script pasted in its raw REPL;
  the heap is a C array, so each trial is a build with `MICROPY_HEAP_SIZE=N` (cached per N).

Measured: the least heap in which boot + the purchase completes (binary search, then moved up
until every step of a small window above it passes: fragmentation makes passing not quite
monotonic), the heap held after each import group and after each phase of the sale (collected,
one profiling run with a large heap), the live heap at each club exchange (the sale's working
set mid-flight), the firmware's text bytes and the frozen modules' bytes (frozen_content.o).
"""

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flashing import firmware  # noqa: E402
from simulator.fil.qemu_pipes import QemuPipes  # noqa: E402
from simulator.fil.terminal import FirmwareError  # noqa: E402

# PROFILE and NOCRYPTOLIB are set by the first two lines the runner prepends.
SALE = """\
import gc
gc.collect()
P = []
def mark(name):
    if PROFILE:
        gc.collect()
        P.append((name, gc.mem_alloc()))
mark('script')
import binascii
from agent.protocol import iso8583, crypto, dukpt, protect, messages as m
if NOCRYPTOLIB:
    crypto.BACKENDS.pop('cryptolib', None)
mark('protocol')
from agent.ports import (Card, ManualClock, MemoryStorage, RecordingDisplay,
                         RecordingPrinter, ScriptedCardReader, ScriptedKeypad)
from agent.storage import BlobStore
mark('ports+storage')
from agent.engine import Engine
mark('engine')
BDK = binascii.unhexlify('FEDCBA9876543210F1F1F1F1F1F1F1F1')
IKID = binascii.unhexlify('1234567890123456')
class Club:
    def __init__(self):
        self.host = dukpt.HostDukpt(BDK)
        self.mtis = []
    def exchange(self, payload, timeout_ms):
        mark('at ' + ('0100' if not self.mtis else '0220'))
        msg, secrets, keys = protect.open_sealed(payload, self.host.keys_for)
        self.mtis.append(msg['t'])
        out = {'t': m.RESPONSE_MTI[msg['t']], '39': '00', '37': '000000000001', '38': 'A00001'}
        for k in ('3', '4', '7', '11', '42', '49', '70', '90'):
            if k in msg:
                out[k] = msg[k]
        return protect.seal(out, keys, protect.RESPONSE)
    def receive(self, timeout_ms):
        raise OSError('no answer')
    def close(self):
        pass
storage = MemoryStorage()
term = dukpt.TerminalDukpt(BlobStore(storage, 'dukpt'))
term.load_initial_key(dukpt.derive_initial_key(BDK, IKID), IKID)
club = Club()
mark('club+dukpt')
import os
if hasattr(os, 'urandom'):
    rng = os.urandom
else:  # the board: the host's /dev/urandom through semihosting, as agent.device.board does
    from agent.device.board import HostEntropy
    rng = HostEntropy()
mark('rng')
config = {'terminal_id': 'T0000001', 'merchant_id': 'M00000000000001',
          'storage_key': bytes(range(16)), 'merchant_name': 'Footprint'}
engine = Engine(club, None, ScriptedCardReader([Card('98791121234567890', '2812')]),
                ScriptedKeypad(), RecordingDisplay(), RecordingPrinter(), ManualClock(),
                storage, config, dukpt=term, rng=rng)
mark('engine built')
engine.recover()
mark('recovered')
res = engine.purchase_cash(450000)
mark('after sale')
gc.collect()
print('FP-SALE', res['outcome'], res['confirmed'], ' '.join(club.mtis), crypto.default_backend())
print('FP-HEAP', gc.mem_alloc(), gc.mem_free())
for name, n in P:
    print('FP-MARK', n, name)
"""


def script(profile, no_cryptolib=False):
    return f"PROFILE = {profile}\nNOCRYPTOLIB = {no_cryptolib}\n" + SALE


def parse(out):
    """{'ok', 'outcome', 'backend', 'alloc', 'free', 'marks': [(name, bytes)]} from the run."""
    res = {"ok": False, "marks": []}
    for line in out.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].endswith("Error:"):
            res["error"] = line.strip()
        elif words[0] == "FP-SALE":
            res["outcome"] = words[1]
            res["ok"] = words[1] == "approved" and words[2] == "True"
            res["mtis"] = words[3:-1]
            res["backend"] = words[-1]
        elif words[0] == "FP-HEAP":
            res["alloc"], res["free"] = int(words[1]), int(words[2])
        elif words[0] == "FP-MARK":
            res["marks"].append((" ".join(words[2:]), int(words[1])))
    return res


def snapshot(dest, source=None):
    """The agent sources the firmware freezes: `source` (a tree holding agent/ and, for
    mps2-an385, flashing/cmodules/) as is, else git HEAD's agent/ and flashing/cmodules/
    unpacked into dest (the working tree itself outside a git checkout). Returns the root."""
    if source:
        return Path(source).resolve()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "head.tar"
    made = subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), "HEAD",
                           "agent", "flashing/cmodules"], capture_output=True)  # fmt: skip
    if made.returncode:  # not a git checkout (an unpacked release): the tree as it is
        return ROOT
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return dest


class Runner:
    """Builds (cached) and runs the SALE script on one board."""

    def __init__(self, board, src, source_root, cache=None, no_cryptolib=False, progress=None):
        self.board = board
        self.src = src
        self.source_root = source_root
        self.cache = cache
        self.no_cryptolib = no_cryptolib
        self.progress = progress or (lambda text: None)

    def build(self, options=None):
        return firmware.build(self.board, self.src, cache=self.cache, options=options,
                              source_root=self.source_root, progress=self.progress)  # fmt: skip

    def run(self, heap, profile=False, timeout=300):
        """parse() of one boot + purchase with this heap."""
        text = script(profile, self.no_cryptolib)
        if self.board == "unix-x86":
            fw = self.build()
            with tempfile.TemporaryDirectory(prefix="vafa-fpb-") as tmp:
                (Path(tmp) / "sale.py").write_text(text)
                run = subprocess.run(
                    [str(fw.path), "-X", f"heapsize={heap}", "sale.py"],
                    cwd=tmp,
                    env={"MICROPYPATH": ".frozen", "PATH": os.environ.get("PATH", "")},
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            return parse(run.stdout + run.stderr)
        fw = self.build({"MICROPY_HEAP_SIZE": str(heap)})
        qemu = QemuPipes(fw.path)
        try:
            qemu.raw_repl()
            out, err = qemu.exec("import sys\nsys.path[:] = ['.frozen']\n" + text, timeout)
            out += err
        except FirmwareError:
            return {"ok": False, "marks": []}  # out of memory at the prompt, or a hang
        finally:
            qemu.stop()
        return parse(out)

    def fw_info(self, heap=None):
        options = None if self.board == "unix-x86" else {"MICROPY_HEAP_SIZE": str(heap)}
        fw = self.build(options)
        info = fw.info
        return {"firmware_bytes": info["text_bytes"], "firmware_file_bytes": info["bytes"],
                "frozen_bytes": frozen_bytes(fw, self.cache), "modules": len(info["modules"]),
                "path": str(fw.path), "make": info["make"]}  # fmt: skip


def frozen_bytes(fw, cache=None):
    """text + data of frozen_content.o (the frozen modules' bytecode, constants, qstrs) in
    the build folder that made fw, or None."""
    board = fw.board
    cache = Path(cache).expanduser() if cache else firmware.default_cache()
    import hashlib

    tag = json.dumps([firmware.RECIPE, fw.info["source"], fw.info["make"]], sort_keys=True)
    obj = cache / "work" / f"{board.name}-{hashlib.sha256(tag.encode()).hexdigest()[:12]}"
    obj = obj / "frozen_content.o"
    tool = board.size_tool
    try:
        out = subprocess.run([tool, str(obj)], capture_output=True, text=True)
        text, data = out.stdout.splitlines()[1].split()[:2]
        return int(text) + int(data)
    except (OSError, IndexError, ValueError):
        return None


def smallest(runner, low, high, step, window):
    """The least heap from which boot + purchase passes at every step of `window` above."""
    if not runner.run(high)["ok"]:
        raise SystemExit(f"{runner.board}: no purchase even with {high} bytes of heap")
    while high - low > step:
        mid = (low + high) // 2 // step * step
        if runner.run(mid)["ok"]:
            high = mid
        else:
            low = mid
    n = high + step
    while n < high + window:
        if runner.run(n)["ok"]:
            n += step
        else:
            high = n = n + step
    return high


def measure(board, src, source=None, low=16 * 1024, high=256 * 1024, step=1024, window=4096,
            cache=None, no_cryptolib=False, progress=None, search=True):  # fmt: skip
    """The board's figures as a dict (the JSON line). search=False: no binary search, the
    profiling run only, at `high` (what the test runs)."""
    with tempfile.TemporaryDirectory(prefix="vafa-fpb-src-") as tmp:
        root = snapshot(tmp, source)
        runner = Runner(board, src, root, cache, no_cryptolib, progress)
        prof = runner.run(high, profile=True)
        if not prof["ok"]:
            raise SystemExit(f"{board}: the profiling run with {high} bytes failed: {prof}")
        info = runner.fw_info(high)
        least = smallest(runner, low, high, step, window) if search else None
    marks = dict(prof["marks"])
    engine_ready = marks["recovered"]
    at = [marks[k] for k in ("at 0100", "at 0220") if k in marks]
    result = {
        "board": board,
        "min_heap_purchase": least,
        "heap_tried": None if search else high,
        "sale_working_set": None if least is None else least - engine_ready,
        "sale_live_peak_at_exchange": max(at) - engine_ready if at else None,
        "sale_held_after": marks["after sale"] - engine_ready,
        "heap_before_sale": engine_ready,
        "heap_total": prof["alloc"] + prof["free"],  # of the profiling run: the heap it had
        "imports": {k: marks[k] for k in ("script", "protocol", "ports+storage", "engine")},
        "marks": prof["marks"],
        "aes_backend": prof["backend"],
        "outcome": prof["outcome"],
        "mtis": prof["mtis"],
        "step": step,
        "window": window,
        "no_cryptolib": no_cryptolib,
        "source": str(source) if source else "git HEAD",
        **{k: v for k, v in info.items() if k != "path"},
        "firmware": info["path"],
    }
    return result
