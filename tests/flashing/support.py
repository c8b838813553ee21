"""Shared pieces of the flashing tests: one bundle per session, demo kits, a virtual device."""

import shutil
from pathlib import Path

from flashing import bundle as bundles
from flashing import install, keys, provision, targets
from flashing.device import VirtualDevice

REPO = bundles.REPO
KEYS = keys.test_keys()
UNIX = targets.get("unix")
BOOT_RUN = "import boot\nt = boot.run()\nprint('HEALTHY', t.config['terminal_id'])\n"


def build_variant(tmp, name, edit=None):
    """A bundle of a copy of agent/ where edit(source_root) changed something."""
    src = Path(tmp) / (name + "-src")
    shutil.copytree(REPO / "agent", src / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        edit(src)
    return bundles.build(Path(tmp) / name, KEYS.firmware, source_root=src)


def demo_kit(folder, club_port=8583):
    return provision.write_kit(provision.demo_kit(KEYS, club_port=club_port), folder)


def installed(folder, bundle, kit):
    device = VirtualDevice(folder)
    install.install(device, UNIX, bundle, kit, KEYS)
    return device


def secrets():
    """Hex spellings of every secret a flashing step handles (for output scans)."""
    from agent.protocol.dukpt import derive_initial_key
    from simulator.club_server import seed

    _, ikid = seed.terminal_identity(1)
    initial = derive_initial_key(KEYS.bdk, bytes.fromhex(ikid))
    out = []
    for key in (KEYS.firmware, KEYS.kbpk, KEYS.bdk, initial):
        out += [key.hex(), key.hex().upper(), repr(key)]
    return out
