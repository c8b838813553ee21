"""The device's loader: verify the firmware bundle, pick the A/B slot, roll back, start.

Copied to the device's root as boot.py, outside the bundle, and never updated by it: it imports
nothing from a bundle before that bundle's manifest signature and every file hash check out.
Importing it does nothing; a board's main.py calls run(). docs/flashing.md has the layout:

    vafa/boot.json          the slot state (below), replaced atomically
    vafa/slot_a, slot_b     a bundle each: manifest.json, manifest.sig, agent/**.mpy
    vafa/keys/fw            the firmware verification key (hex; TEST ONLY demo key in dev)

Slot state: {"active", "previous", "pending", "tried"}. stage(slot) makes a freshly copied slot
active and pending (the old one becomes previous). A pending bundle boots once: select() marks it
tried before importing anything from it; the bundle calls confirm() once it is healthy (the
engine recovered). A boot that finds a slot pending and tried (the last boot crashed, hung into
a watchdog reset or lost power before confirming) rolls back to the previous slot. A bundle that
fails verification is never imported: the loader falls back to the previous slot, if valid.

Signature: manifest.sig is hex HMAC-SHA256(firmware key, manifest.json bytes). Written here on
purpose instead of imported from agent/protocol/crypto.py, which lives inside the bundle.
"""

import binascii
import hashlib
import json
import os
import sys

ROOT = "vafa"
STATE = ROOT + "/boot.json"
KEY = ROOT + "/keys/fw"
SLOTS = ("a", "b")
FORMAT = 1
CHUNK = 512


class BootError(Exception):
    """The bundle cannot be started; `slot` and `path` say where."""

    def __init__(self, slot, path, message):
        super().__init__("slot " + str(slot) + ": " + path + ": " + message)
        self.slot = slot
        self.path = path


def slot_dir(slot):
    return ROOT + "/slot_" + slot


def _exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def _hmac_sha256(key, data):
    key = bytes(key) + bytes(64 - len(key))
    inner = hashlib.sha256(bytes([b ^ 0x36 for b in key]))
    inner.update(data)
    outer = hashlib.sha256(bytes([b ^ 0x5C for b in key]))
    outer.update(inner.digest())
    return outer.digest()


def _equal(a, b):
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


def _hex(data):
    return binascii.hexlify(data).decode()


def file_sha256(path):
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf if n == CHUNK else buf[:n])
    return _hex(h.digest())


def read_key():
    try:
        with open(KEY) as f:
            text = f.read().strip()
    except OSError:
        raise BootError("-", KEY, "no firmware verification key: provision the device")
    key = bytes(int(text[i : i + 2], 16) for i in range(0, len(text), 2))
    if len(key) < 16 or len(key) > 64:
        raise BootError("-", KEY, "the key must be 16 to 64 bytes")
    return key


# -- slot state ---------------------------------------------------------------------------------


def load_state():
    try:
        with open(STATE) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    for name, default in (("active", None), ("previous", None), ("pending", False), ("tried", 0)):
        if name not in state:
            state[name] = default
    return state


def save_state(state):
    with open(STATE + ".tmp", "w") as f:
        f.write(json.dumps(state))
        f.flush()
    os.rename(STATE + ".tmp", STATE)


def inactive_slot(state=None):
    state = state or load_state()
    return "b" if state["active"] == "a" else "a"


def _mkdirs(path):
    built = ""
    for part in path.split("/"):
        built = built + "/" + part if built else part
        if built and not _exists(built):
            os.mkdir(built)


def wipe(slot):
    """Empty a slot that is neither active nor previous, ready for a new bundle."""
    if slot not in SLOTS:
        raise BootError(slot, slot_dir(str(slot)), "no such slot")
    state = load_state()
    if slot == state["active"]:
        raise BootError(slot, slot_dir(slot), "is the active slot")
    _remove_tree(slot_dir(slot))
    _mkdirs(slot_dir(slot))


def _remove_tree(path):
    if not _exists(path):
        return
    if os.stat(path)[0] & 0x4000:
        for entry in os.listdir(path):
            _remove_tree(path + "/" + entry)
        os.rmdir(path)
    else:
        os.remove(path)


# -- verification -------------------------------------------------------------------------------


def verify(slot, key=None):
    """The manifest of a slot whose signature and file hashes all check, its "files" replaced
    by their number; BootError otherwise."""
    if slot not in SLOTS:
        raise BootError(slot, "-", "no bundle installed")
    key = key or read_key()
    base = slot_dir(slot)
    try:
        with open(base + "/manifest.json", "rb") as f:
            raw = f.read()
        with open(base + "/manifest.sig") as f:
            sig = f.read().strip()
    except OSError:
        raise BootError(slot, base + "/manifest.json", "missing manifest or signature")
    if not _equal(_hex(_hmac_sha256(key, raw)).encode(), sig.encode()):
        raise BootError(slot, base + "/manifest.sig", "signature does not match")
    manifest = json.loads(raw)
    if manifest.get("format") != FORMAT:
        raise BootError(slot, base + "/manifest.json", "unknown format")
    for name, entry in manifest["files"].items():
        path = base + "/" + name
        try:
            digest = file_sha256(path)
        except OSError:
            raise BootError(slot, path, "missing")
        if digest != entry["sha256"]:
            raise BootError(slot, path, "hash does not match")
    # Checked: the file list is not needed again, and its hashes are ~24 KB of a small heap
    # that the running terminal would otherwise hold (it keeps the manifest).
    manifest["files"] = len(manifest["files"])
    return manifest


def stage(slot):
    """Make a freshly copied slot the active one, pending confirmation; verifies it first."""
    manifest = verify(slot)
    state = load_state()
    if state["active"] != slot:
        state["previous"] = state["active"]
    state["active"] = slot
    state["pending"] = True
    state["tried"] = 0
    save_state(state)
    return manifest["version"]


def _roll_back(state, why):
    print("boot: rolling back from slot", state["active"], "-", why)
    state["active"], state["previous"] = state["previous"], None
    state["pending"] = False
    state["tried"] = 0
    state["rolled_back"] = why
    save_state(state)


def select():
    """(slot, manifest) to start: applies the pending/tried rule and falls back to the previous
    slot when the active one fails verification."""
    key = read_key()
    state = load_state()
    if state["pending"] and state["tried"]:
        _roll_back(state, "not confirmed")
    elif state["pending"]:
        state["tried"] = 1
        save_state(state)
    try:
        return state["active"], verify(state["active"], key)
    except BootError as e:
        if not state["previous"]:
            raise
        _roll_back(state, str(e))
    return state["active"], verify(state["active"], key)


def confirm():
    """Called by the bundle once it reached a healthy state: the pending bundle is kept."""
    state = load_state()
    if state["pending"]:
        state["pending"] = False
        state["tried"] = 0
        save_state(state)


def start():
    """Verify, select and import the bundle's entry module; returns (manifest, module)."""
    slot, manifest = select()
    path = slot_dir(slot)
    if path not in sys.path:
        sys.path.insert(0, path)
    entry = manifest.get("entry", "agent.device.main")
    module = __import__(entry, None, None, ["_"])
    return manifest, module


def run(**options):
    """The board's main.py: start the bundle; its start() confirms once healthy."""
    manifest, module = start()
    return module.start(manifest, confirm, **options)


# -- status (vafa flash verify / status) ----------------------------------------------------------


def report():
    """What the host's verify and status read back, one line at a time (no large strings on a
    small heap): "VAFA-FILE name sha256" per file of the active slot, then "VAFA-REPORT {json}"
    with the slot state, version, terminal id, free bytes and the number of files."""
    state = load_state()
    out = {"state": state, "version": None, "files": 0, "terminal_id": None, "free": None}
    slot = state["active"]
    if slot in SLOTS:
        base = slot_dir(slot)
        try:
            with open(base + "/manifest.json") as f:
                manifest = json.load(f)
            out["version"] = manifest["version"]
            for name in manifest["files"]:
                try:
                    digest = file_sha256(base + "/" + name)
                except OSError:
                    digest = "missing"
                print("VAFA-FILE", name, digest)
                out["files"] += 1
        except (OSError, ValueError):
            out["version"] = "unreadable"
    try:
        with open(ROOT + "/config.json") as f:
            out["terminal_id"] = json.load(f).get("terminal_id")
    except (OSError, ValueError):
        pass
    statvfs = getattr(os, "statvfs", None)
    if statvfs is not None:
        st = statvfs(".")
        out["free"] = st[0] * st[4]
    print("VAFA-REPORT", json.dumps(out))
    return out
