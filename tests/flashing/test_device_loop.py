"""Firmware in the loop: a unix MicroPython behind a pty (socat) is the device. The `vafa flash`
commands install, verify and report over mpremote, then the device boots the installed bundle
with a capped heap and runs sales against the real club server over TCP."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from flashing.device import MpremoteDevice
from flashing.targets import UnixPty, get
from tests.flashing.support import secrets

# Room for the REPL; 320 KB failed on the qstr pool's 14 KB block once main.py grew the host link.
HEAP = 352 * 1024
CARD = "9879110000000014"

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")


def vafa(cwd, *args):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.run(
        [sys.executable, "-m", "vafa.cli", "flash", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


def test_flash_then_sell_on_the_device(tmp_path, club):
    workdir, devdir = tmp_path / "tech", tmp_path / "device"
    workdir.mkdir()
    devdir.mkdir()
    tty = str(tmp_path / "tty")
    socat = UnixPty.spawn(devdir, tty, heapsize=HEAP)
    try:
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env_cwd = workdir
        os.symlink(os.path.join(repo, "vafa"), workdir / "vafa")
        os.symlink(os.path.join(repo, "flashing"), workdir / "flashing")
        os.symlink(os.path.join(repo, "agent"), workdir / "agent")
        os.symlink(os.path.join(repo, "simulator"), workdir / "simulator")
        out = [vafa(env_cwd, "build"), vafa(env_cwd, "install", "--port", tty)]
        out.append(vafa(env_cwd, "verify", "--port", tty))
        out.append(vafa(env_cwd, "status", "--port", tty))
        for r in out:
            assert r.returncode == 0, r.stdout + r.stderr
        n = int(re.search(r": (\d+) files, ", out[0].stdout).group(1))  # the model's modules
        assert f"bundle [{n + 2}/{n + 2}]" in out[1].stdout  # and the manifest, its signature
        assert out[2].stdout.startswith(f"ok: {n} files")
        assert "terminal_id  VT000001" in out[3].stdout and "pending      True" in out[3].stdout
        assert (devdir / "vafa/slot_a/manifest.json").exists()  # the device's own files

        # point the demo terminal at this test's club, as a technician re-configures one
        device = MpremoteDevice(tty, get("unix"))
        config = json.loads((workdir / "var/flash/terminals/VT000001/config.json").read_text())
        config["club_port"] = club.port
        (tmp_path / "config.json").write_text(json.dumps(config))
        device.put([(tmp_path / "config.json", "vafa/config.json")])

        sale = device.exec(
            "import boot, gc\n"
            "t = boot.run()\n"
            "print('SIGNED', t.signed_on)\n"
            f"r = t.purchase('cash', 450000, {CARD!r})\n"
            "print('SALE', r['outcome'], r['response_code'], r['confirmed'], r['card_last4'])\n"
            "r = t.purchase('club', 20000, " + repr(CARD) + ")\n"
            "print('SALE', r['outcome'], r['response_code'], r['confirmed'])\n"
            "gc.collect()\n"
            "print('RECEIPTS', len(t.receipts()))\n"
        )
        assert "SIGNED 00" in sale  # signed on at power-up (protocol.md 5.9), then ready
        assert "SALE approved 00 True 0014" in sale
        assert "SALE approved 00 True" in sale.split("SALE approved 00 True 0014", 1)[1]
        receipts = int(sale.split("RECEIPTS ", 1)[1].split()[0])
        assert receipts >= 2  # at least one slip per sale
        status = vafa(env_cwd, "status", "--port", tty)
        assert "pending      False" in status.stdout  # the bundle confirmed itself
        assert not (devdir / "vafa/initial_key.tr31").exists()
        text = "".join(r.stdout + r.stderr for r in [*out, status]) + sale
        for secret in secrets():
            assert secret not in text
    finally:
        socat.terminate()
        socat.wait(5)
