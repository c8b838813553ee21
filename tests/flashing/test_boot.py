"""agent/boot.py under the real MicroPython: verification before import, A/B slots, rollback.

Each device is a VirtualDevice: a folder as the device's filesystem, every boot a fresh unix
MicroPython process in it (a power cycle)."""

import json

import pytest

from flashing import install
from tests.flashing.support import BOOT_RUN, KEYS, UNIX, build_variant, demo_kit, installed


def state(device):
    return json.loads(device.read("vafa/boot.json"))


def boot(device):
    return device.run(BOOT_RUN)


@pytest.fixture
def kit(tmp_path):
    return demo_kit(tmp_path / "kit")


def crashing(src):
    main = src / "agent" / "device" / "main.py"
    main.write_text(
        main.read_text().replace(
            "    terminal.engine.recover()\n", "    raise RuntimeError('new firmware crashes')\n"
        )
    )


def test_new_bundle_boots_pending_then_confirms(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    assert state(device) == {"active": "a", "previous": None, "pending": True, "tried": 0}
    out = boot(device)
    assert out.returncode == 0, out.stderr
    assert "HEALTHY VT000001" in out.stdout
    assert state(device)["pending"] is False
    assert not (device.folder / "vafa/initial_key.tr31").exists()  # loaded, then removed
    assert (device.folder / "vafa/data/dukpt").exists()
    again = boot(device)  # a second power-up: still slot a, DUKPT state kept
    assert "HEALTHY" in again.stdout and state(device)["active"] == "a"


def test_unconfirmed_bundle_rolls_back_on_next_boot(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    assert "HEALTHY" in boot(device).stdout
    bad = build_variant(tmp_path, "crash", crashing)
    assert bad.version != bundle.version
    install.install(device, UNIX, bad, kit, KEYS)
    assert state(device)["active"] == "b" and state(device)["previous"] == "a"
    first = boot(device)
    assert first.returncode == 1 and "new firmware crashes" in first.stdout
    second = boot(device)
    assert second.returncode == 0, second.stderr
    assert "rolling back from slot b - not confirmed" in second.stdout
    assert "HEALTHY VT000001" in second.stdout
    s = state(device)
    assert s["active"] == "a" and s["previous"] is None and s["rolled_back"] == "not confirmed"
    assert install.status(device)["version"] == bundle.version


def test_tampered_bundle_is_never_imported(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    assert "HEALTHY" in boot(device).stdout
    other = build_variant(
        tmp_path, "other", lambda src: (src / "agent/extra.py").write_text("X = 1\n")
    )
    install.install(device, UNIX, other, kit, KEYS)
    target = device.folder / "vafa/slot_b/agent/engine.mpy"
    target.write_bytes(target.read_bytes()[:-1] + b"\x00")
    out = boot(device)
    assert out.returncode == 0, out.stderr
    assert "vafa/slot_b/agent/engine.mpy: hash does not match" in out.stdout
    assert "HEALTHY" in out.stdout and state(device)["active"] == "a"


def test_bad_signature_without_fallback_refuses_to_start(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    manifest = device.folder / "vafa/slot_a/manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"format":1', b'"format":1 '))
    out = boot(device)
    assert out.returncode == 1
    assert "BootError: slot a: vafa/slot_a/manifest.sig: signature does not match" in out.stdout
    assert "HEALTHY" not in out.stdout


def test_wrong_firmware_key_refused(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    (device.folder / "vafa/keys/fw").write_text("00" * 32)
    out = boot(device)
    assert out.returncode == 1 and "signature does not match" in out.stdout


def test_slots_alternate_and_verify_reads_hashes_back(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    assert install.verify(device, bundle)[0] == []
    boot(device)
    install.install(device, UNIX, bundle, kit, KEYS)
    assert state(device)["active"] == "b" and state(device)["previous"] == "a"
    (device.folder / "vafa/slot_b/agent/flows.mpy").write_bytes(b"junk")
    problems, _ = install.verify(device, bundle)
    assert problems == ["agent/flows.mpy: hash differs"]
