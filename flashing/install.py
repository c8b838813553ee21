"""Install a bundle and a terminal's kit on a device, read it back, report its status.

    install(device, target, bundle, kit_folder, keys, progress=print)
    problems = verify(device, bundle)       # [] when every hash on the device matches
    info = status(device)                   # version, slot state, terminal id, free bytes
    model = device_model(device)            # the model of the bundle it runs (None: none)
    done = rollback(device)                 # back to the previous bundle, verified first

Install order (docs/flashing.md): the loader (boot.py) and the target's root files; the
device's keys (firmware verification key, KBPK) when it has none; the bundle into the slot that
is not active (emptied first); boot.stage(slot) on the device, which verifies it and makes it
active and pending; the configuration; the initial key block only when the device has no DUKPT
state yet (re-injecting an initial key would restart its KSN counter: --reinject-key for a new
key). Secrets travel as temporary files (mpremote prints only paths); nothing here prints them.
The bundle's copy says how far it is: files, bytes and percent after each batch.
"""

import json
import tempfile
from pathlib import Path

from flashing.bundle import REPO

LOADER = REPO / "agent" / "boot.py"
FOLDERS = ("vafa", "vafa/keys", "vafa/data")
REPORT_TAG = "VAFA-REPORT "
ROLLED_BACK_BY = "rolled back by the technician"

# The model of the active slot's manifest, read in small pieces (the manifest lists every
# file's hash: ~24 KB that a small heap need not hold). The manifest has sorted keys and no
# spaces (flashing/bundle.py), so the model is the text after "model":" up to the next quote.
MODEL_CODE = """
import json
def _model():
    try:
        with open('vafa/boot.json') as f:
            slot = json.load(f).get('active')
        if not slot:
            return None
        tail = ''
        with open('vafa/slot_' + slot + '/manifest.json') as f:
            while True:
                piece = f.read(256)
                text = tail + piece
                at = text.find('"model":"')
                if at >= 0:
                    rest = text[at + 9:] + f.read(64)
                    return rest[:rest.find('"')]
                if not piece:
                    return None
                tail = text[-16:]
    except (OSError, ValueError):
        return None
print('VAFA-MODEL', json.dumps(_model()))
"""

# Roll back on the device: the previous slot is verified as the loader will verify it
# (signature, then every file's hash) before the state changes; then active and previous swap
# (the bundle left is kept, so a second rollback goes forward again) and the state is written
# atomically (boot.save_state). The answer is one VAFA-ROLLBACK line.
ROLLBACK_CODE = """
import json
state = boot.load_state()
old, prev = state['active'], state['previous']
if not prev:
    out = {'error': 'no_previous', 'state': state}
else:
    try:
        manifest = boot.verify(prev)
    except boot.BootError as e:
        out = {'error': 'invalid', 'why': str(e)}
    else:
        state['active'], state['previous'] = prev, old
        state['pending'] = False
        state['tried'] = 0
        state['rolled_back'] = 'ROLLED_BACK_BY'
        boot.save_state(state)
        out = {'slot': prev, 'from': old, 'version': manifest['version'],
               'model': manifest.get('model')}
print('VAFA-ROLLBACK', json.dumps(out))
""".replace("ROLLED_BACK_BY", ROLLED_BACK_BY)


class InstallError(Exception):
    """An install step failed; `step` names it."""

    def __init__(self, step, message):
        super().__init__(f"{step}: {message}")
        self.step = step


def _boot(code, fresh=False):
    # fresh: drop a boot module the REPL may hold from before install copied a new boot.py
    # (otherwise keep it: compiling it again costs heap a running terminal may not have)
    drop = "import sys\nsys.modules.pop('boot', None)\n" if fresh else ""
    return drop + "import boot\n" + code


def _mkdirs_code(folders):
    return (
        "import os\n"
        f"for p in {list(folders)!r}:\n"
        "    try:\n        os.mkdir(p)\n    except OSError:\n        pass\n"
    )


def _tail_line(out, tag):
    for line in out.splitlines():
        if line.startswith(tag):
            return line[len(tag) :].strip()
    raise InstallError("device", "no answer: " + out.strip()[-300:])


def _bytes_progress(pairs, say):
    """A put() progress callback that says files, bytes and percent copied so far:
    "bundle [16/52] 40,960/151,552 bytes (27 %) vafa/slot_a/agent/engine.mpy"."""
    sizes = [Path(local).stat().st_size for local, _ in pairs]
    total = sum(sizes) or 1

    def progress(done, count, name):
        copied = sum(sizes[:done])
        say(f"bundle [{done}/{count}] {copied:,}/{total:,} bytes ({copied * 100 // total} %) "
            f"{name}")  # fmt: skip

    return progress


def install(device, target, bundle, kit_folder=None, keys=None, reinject_key=False, progress=None):
    say = progress or (lambda *a: None)
    tmp = tempfile.TemporaryDirectory(prefix="vafa-flash-")
    with tmp:
        work = Path(tmp.name)
        device.exec(_mkdirs_code(FOLDERS), "folders")
        root = [(LOADER, "boot.py")]
        for name, content in target.root_files:
            (work / name).write_text(content)
            root.append((work / name, name))
        device.put(root)
        say("loader: boot.py" + "".join(", " + n for n, _ in target.root_files))

        has = json.loads(
            _tail_line(
                device.exec(
                    _boot(
                        "import os\nout = {}\nfor n in ('vafa/keys/fw', 'vafa/keys/kbpk', "
                        "'vafa/data/dukpt'):\n    try:\n        os.stat(n)\n        out[n] = 1\n"
                        "    except OSError:\n        out[n] = 0\n"
                        "out['slot'] = boot.inactive_slot()\n"
                        "print('VAFA-HAS', __import__('json').dumps(out))\n",
                        fresh=True,
                    ),
                    "probe",
                ),
                "VAFA-HAS ",
            )
        )
        if keys is not None:
            secrets = []
            for name, value in (("fw", keys.firmware), ("kbpk", keys.kbpk)):
                if not has["vafa/keys/" + name]:
                    (work / name).write_text(value.hex())
                    secrets.append((work / name, "vafa/keys/" + name))
            if secrets:
                device.put(secrets)
                say("keys: " + ", ".join(r for _, r in secrets) + " (TEST ONLY demo keys)"
                    if keys.test else "keys: " + ", ".join(r for _, r in secrets))  # fmt: skip

        slot = has["slot"]
        device.exec(_boot(f"boot.wipe({slot!r})\n"), "wipe slot " + slot)
        base = f"vafa/slot_{slot}"
        folders = sorted({str(Path(base, n).parent) for n in bundle.files})
        device.exec(_mkdirs_code(folders), "slot folders")
        pairs = [(bundle.path / n, f"{base}/{n}") for n in sorted(bundle.files)]
        pairs += [(bundle.path / n, f"{base}/{n}") for n in ("manifest.json", "manifest.sig")]
        device.put(pairs, _bytes_progress(pairs, say))
        version = _tail_line(
            device.exec(_boot(f"print('VAFA-STAGED', boot.stage({slot!r}))\n"), "stage"),
            "VAFA-STAGED ",
        )
        say(f"staged {version} in slot {slot} (pending until the terminal confirms)")

        if kit_folder is not None:
            kit_folder = Path(kit_folder)
            files = [(kit_folder / "config.json", "vafa/config.json")]
            if reinject_key or not has["vafa/data/dukpt"]:
                files.append((kit_folder / "initial_key.tr31", "vafa/initial_key.tr31"))
            device.put(files)
            say("configuration: vafa/config.json" +
                (", initial key block" if len(files) > 1 else " (DUKPT state kept)"))  # fmt: skip
    return {"slot": slot, "version": version}


def report(device):
    """The device's boot.report(): a dict whose "files" maps name -> sha256 ("missing")."""
    out = device.exec(_boot("boot.report()\n"), "report")
    info = json.loads(_tail_line(out, REPORT_TAG))
    info["files"] = {}
    for line in out.splitlines():
        if line.startswith("VAFA-FILE "):
            _, name, digest = line.split()
            info["files"][name] = None if digest == "missing" else digest
    return info


def verify(device, bundle):
    """Problems found comparing the device's active slot with the bundle: [] when it matches."""
    info = report(device)
    problems = []
    if info["version"] != bundle.version:
        problems.append(f"version: device {info['version']}, bundle {bundle.version}")
    for name, entry in sorted(bundle.files.items()):
        got = info["files"].get(name)
        if got is None:
            problems.append(f"{name}: missing on the device")
        elif got != entry["sha256"]:
            problems.append(f"{name}: hash differs")
    problems += [f"{n}: not in the bundle" for n in sorted(set(info["files"]) - set(bundle.files))]
    return problems, info


def device_model(device):
    """The model of the bundle the device runs (its active slot's manifest); None when it has
    no bundle yet (or one built before models were recorded)."""
    out = device.exec(MODEL_CODE, "read the device's model")
    return json.loads(_tail_line(out, "VAFA-MODEL "))


class RollbackError(InstallError):
    """Nothing to roll back to, or the previous bundle does not verify; the device is as it
    was. exit_code 1: the operation was tried and refused."""

    exit_code = 1


def rollback(device):
    """Make the previous bundle active again, after verifying it on the device; the state is
    read back to check the switch. {"slot", "from", "version", "model"}; RollbackError when
    there is no previous bundle or it fails verification (nothing changed then)."""
    out = json.loads(_tail_line(device.exec(_boot(ROLLBACK_CODE, fresh=True), "rollback"),
                                "VAFA-ROLLBACK "))  # fmt: skip
    if out.get("error") == "no_previous":
        active = out["state"].get("active")
        raise RollbackError("rollback", "no previous bundle on the device to go back to "
                            f"(active slot: {active or 'none'}; a device keeps the bundle "
                            "before the last install)")  # fmt: skip
    if out.get("error") == "invalid":
        raise RollbackError("rollback", f"the previous bundle does not verify ({out['why']}); "
                            "nothing was changed")  # fmt: skip
    info = report(device)
    state = info["state"]
    if state.get("active") != out["slot"] or info["version"] != out["version"]:
        raise InstallError("rollback", f"the device's state did not change as written: {state}")
    return out


def status(device):
    info = report(device)
    state = info["state"]
    return {
        "version": info["version"],
        "slot": state.get("active"),
        "pending": bool(state.get("pending")),
        "previous": state.get("previous"),
        "rolled_back": state.get("rolled_back"),
        "terminal_id": info["terminal_id"],
        "free_bytes": info["free"],
        "files": len(info["files"]),
    }
