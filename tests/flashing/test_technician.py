"""The technician is never surprised (issue 12 section 7), on the real unix MicroPython:

- `vafa flash rollback` goes back to the bundle before the last install: verified on the
  device first, the state switched and read back, the terminal then boots it; nothing to go
  back to, or a previous bundle that does not verify, changes nothing;
- `install` compares the bundle's model with the model the device runs, without --model,
  before anything is staged (over mpremote, behind a socat pty);
- `install --terminal` checks the kit's configuration and key block before the device;
- `verify --bundle` with a path that is not there says so; `build` says when it signs with the
  TEST ONLY key; `ports` lists the serial ports, or says there are none.
"""

import json
import shutil
import subprocess
import sys

import pytest
from serial.tools.list_ports_common import ListPortInfo

from flashing import bundle as bundles
from flashing import install
from flashing.cli import NO_PORTS, TEST_KEY_LINE, port_lines, port_rows
from flashing.targets import UnixPty
from tests.flashing.support import BOOT_RUN, KEYS, UNIX, build_variant, demo_kit, installed

VAFA = [sys.executable, "-m", "vafa", "flash"]


def vafa(*argv, cwd=None):
    return subprocess.run([*VAFA, *argv], capture_output=True, text=True, cwd=cwd, timeout=300)


def state(device):
    return json.loads(device.read("vafa/boot.json"))


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """A second bundle of the same model: agent/ with one more module (a new version)."""
    tmp = tmp_path_factory.mktemp("second")
    return build_variant(tmp, "second", lambda src: (src / "agent/extra.py").write_text("X = 2\n"))


@pytest.fixture
def kit(tmp_path):
    return demo_kit(tmp_path / "kit")


def test_rollback_goes_back_to_the_bundle_before(tmp_path, bundle, second, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    assert "HEALTHY" in device.run(BOOT_RUN).stdout
    install.install(device, UNIX, second, kit, KEYS)
    assert "HEALTHY" in device.run(BOOT_RUN).stdout  # the new one runs and confirms
    assert install.status(device)["version"] == second.version

    done = install.rollback(device)
    assert done == {"slot": "a", "from": "b", "version": bundle.version, "model": "vafa-t1"}
    s = state(device)
    assert (s["active"], s["previous"], s["pending"]) == ("a", "b", False)
    assert s["rolled_back"] == install.ROLLED_BACK_BY
    out = device.run(BOOT_RUN)  # power on: the loader verifies and starts slot a
    assert out.returncode == 0 and "HEALTHY VT000001" in out.stdout, out.stdout + out.stderr
    assert state(device)["active"] == "a"
    assert install.verify(device, bundle)[0] == []  # every file of the old bundle, intact

    again = install.rollback(device)  # the newer one was kept: a second rollback goes forward
    assert again["version"] == second.version and state(device)["active"] == "b"


def test_nothing_to_roll_back_to_changes_nothing(tmp_path, bundle, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    before = device.read("vafa/boot.json")
    with pytest.raises(install.RollbackError, match="no previous bundle on the device"):
        install.rollback(device)
    assert device.read("vafa/boot.json") == before


def test_a_previous_bundle_that_does_not_verify_is_not_made_active(tmp_path, bundle, second, kit):
    device = installed(tmp_path / "dev", bundle, kit)
    install.install(device, UNIX, second, kit, KEYS)
    engine = device.folder / "vafa/slot_a/agent/engine.mpy"
    engine.write_bytes(engine.read_bytes()[:-1] + b"\x00")
    before = device.read("vafa/boot.json")
    with pytest.raises(install.RollbackError) as caught:
        install.rollback(device)
    assert "vafa/slot_a/agent/engine.mpy: hash does not match" in str(caught.value)
    assert "nothing was changed" in str(caught.value)
    assert device.read("vafa/boot.json") == before and state(device)["active"] == "b"


def test_the_device_says_its_model(tmp_path, bundle, kit):
    fresh = installed(tmp_path / "dev", bundle, kit)
    assert install.device_model(fresh) == bundle.manifest["model"] == "vafa-t1"
    (tmp_path / "empty").mkdir()
    from flashing.device import VirtualDevice

    assert install.device_model(VirtualDevice(tmp_path / "empty")) is None


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
def test_install_and_rollback_over_mpremote(tmp_path, bundle, second, kit):
    devdir = tmp_path / "device"
    first = installed(devdir, bundle, kit)
    install.install(first, UNIX, second, kit, KEYS)
    full = bundles.build(tmp_path / "full", KEYS.firmware, model="full")
    tty = str(tmp_path / "tty")
    socat = UnixPty.spawn(devdir, tty)
    try:
        before = (devdir / "vafa/boot.json").read_text()
        # another model's bundle, no --model: refused before anything is staged
        done = vafa("install", "--port", tty, "--bundle", str(full.path), "--terminal", str(kit))
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr == (
            f"vafa flash install: the device on {tty} runs model vafa-t1, the bundle is built "
            "for full: vafa flash build --model vafa-t1 (or --change-model to make it a full "
            "terminal)\n"
        )
        assert (devdir / "vafa/boot.json").read_text() == before
        assert not (devdir / "vafa/slot_a/agent/display/pixel.mpy").exists()  # nothing staged

        done = vafa("rollback", "--port", tty)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines() == [
            f"rolled back: slot a ({bundle.version}, model vafa-t1) is active; slot b kept as "
            "the previous",
            "the terminal starts slot a at its next start (a unix device is not restarted "
            "from here)",
        ]
        status = vafa("status", "--port", tty)
        assert f"version      {bundle.version}" in status.stdout
        assert f"rolled_back  {install.ROLLED_BACK_BY}" in status.stdout
    finally:
        socat.terminate()
        socat.wait(5)


def test_a_bad_kit_is_refused_before_the_device(tmp_path, kit):
    nowhere = str(tmp_path / "no-tty")  # never opened: the kit is checked first
    config = json.loads((kit / "config.json").read_text())
    cases = []
    broken = tmp_path / "no-key"
    shutil.copytree(kit, broken)
    (broken / "initial_key.tr31").unlink()
    cases.append((broken, "not a terminal kit (no initial_key.tr31)"))
    bad_id = tmp_path / "bad-id"
    shutil.copytree(kit, bad_id)
    (bad_id / "config.json").write_text(json.dumps({**config, "terminal_id": "VT1"}))
    cases.append((bad_id, "config.json: terminal_id: must be 8 letters or digits"))
    not_json = tmp_path / "not-json"
    shutil.copytree(kit, not_json)
    (not_json / "config.json").write_text("{terminal_id: VT000001")
    cases.append((not_json, "config.json: not JSON"))
    altered = tmp_path / "altered"
    shutil.copytree(kit, altered)
    block = (altered / "initial_key.tr31").read_text()
    (altered / "initial_key.tr31").write_text(block[:-1] + ("0" if block[-1] != "0" else "1"))
    cases.append((altered, "initial_key.tr31: mac: the key block was altered or the KBPK"))
    for folder, expected in cases:
        done = vafa("install", "--port", nowhere, "--terminal", str(folder), cwd=tmp_path)
        assert done.returncode == 2, folder
        assert done.stderr.startswith(f"vafa flash install: --terminal {folder}: ")
        assert expected in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "var").exists()  # no bundle built, no demo kit made
    board = tmp_path / "board"  # a board's kit carries more keys than provisioning's: fine
    shutil.copytree(kit, board)
    (board / "config.json").write_text(json.dumps({**config, "hostlink": {"line": "stdio"}}))
    done = vafa("install", "--port", nowhere, "--terminal", str(board), cwd=tmp_path)
    assert "no such port" in done.stderr  # past the kit, stopped at the port


def test_verify_says_a_bundle_path_is_not_there(tmp_path):
    missing = tmp_path / "no-bundle"
    done = vafa("verify", "--port", str(tmp_path / "no-tty"), "--bundle", str(missing))
    assert done.returncode == 2
    assert done.stderr == (
        f"vafa flash verify: --bundle {missing}: no such folder; build a bundle there with "
        f"vafa flash build --out {missing}\n"
    )
    assert not missing.exists()


def test_build_says_when_it_signs_with_the_test_key(tmp_path):
    done = vafa("build", "--out", str(tmp_path / "b"))
    assert done.returncode == 0 and TEST_KEY_LINE in done.stdout.splitlines()
    assert "TEST ONLY" in TEST_KEY_LINE
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"firmware": "11" * 32, "kbpk": "22" * 16, "bdk": "33" * 16}))
    done = vafa("--keys", str(keys), "build", "--out", str(tmp_path / "c"))
    assert done.returncode == 0 and "TEST ONLY" not in done.stdout


def test_ports_are_listed_or_said_to_be_none():
    assert port_lines([]) == [NO_PORTS]
    usb = ListPortInfo("/dev/ttyACM0", skip_link_detection=True)
    usb.vid, usb.pid, usb.description, usb.hwid = 0x2E8A, 0x0005, "Board in FS mode", "USB"
    plain = ListPortInfo("/dev/ttyS0", skip_link_detection=True)
    rows = port_rows([plain, usb])
    assert [r["device"] for r in rows] == ["/dev/ttyACM0", "/dev/ttyS0"]
    assert rows[0]["vid"] == "2E8A" and rows[1]["description"] is None
    assert port_lines(rows) == [
        "/dev/ttyACM0  Board in FS mode  USB 2E8A:0005",
        "/dev/ttyS0    -",
    ]
    from serial.tools import list_ports

    done = vafa("ports", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout) == port_rows(list_ports.comports())
    done = vafa("ports")
    assert done.returncode == 0 and done.stdout.strip()
    if not list_ports.comports():
        assert done.stdout == NO_PORTS + "\n"
