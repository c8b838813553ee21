"""Before mpremote: the port is probed, so that mpremote's one message for three problems
("failed to access PORT (it may be in use by another program)") becomes three sentences, and a
pty with no MicroPython behind it fails in seconds instead of waiting on mpremote. Real ptys
(socat), a real unix MicroPython, real sockets. Then progress: install says bytes and percent,
a build says how far it is."""

import os
import shutil
import subprocess
import sys
import time

import pytest
import serial

from flashing import install
from flashing.device import NoRepl, PortError, VirtualDevice, probe
from flashing.targets import UnixPty
from tests.flashing.support import KEYS, UNIX, demo_kit
from tests.ports import closed_port

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")


def pty_pair(tmp_path, name="tty"):
    """A socat pty pair: the path given to the tools, and the other end nobody serves."""
    ours, other = tmp_path / name, tmp_path / (name + ".other")
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={ours}", f"pty,raw,echo=0,link={other}"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not ours.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc, str(ours)


@pytest.fixture
def micropython_pty(tmp_path):
    device = tmp_path / "device"
    device.mkdir()
    proc = UnixPty.spawn(device, str(tmp_path / "mp"))
    yield str(tmp_path / "mp")
    proc.terminate()
    proc.wait(5)


def timed(port):
    start = time.monotonic()
    with pytest.raises((PortError, NoRepl)) as caught:
        probe(port)
    return caught.value, time.monotonic() - start


def test_three_problems_three_sentences(tmp_path, micropython_pty):
    missing, seconds = timed(str(tmp_path / "ttyUSB9"))
    assert missing.kind == "missing" and missing.exit_code == 2 and seconds < 1
    assert "no such port" in str(missing)

    refused, seconds = timed(f"socket://127.0.0.1:{closed_port()}")
    assert refused.kind == "refused" and refused.exit_code == 2 and seconds < 1
    assert "nothing listens" in str(refused) and "connection refused" in str(refused)

    holder = serial.Serial(micropython_pty, exclusive=True)  # another program has it
    try:
        busy, seconds = timed(micropython_pty)
    finally:
        holder.close()
    assert busy.kind == "busy" and busy.exit_code == 1 and seconds < 1
    assert "in use by another program" in str(busy)

    assert len({str(missing), str(refused), str(busy)}) == 3
    probe(micropython_pty)  # once let go, the same port answers as a MicroPython REPL


def test_a_pty_with_no_micropython_fails_in_seconds(tmp_path):
    proc, port = pty_pair(tmp_path)
    try:
        silent, seconds = timed(port)
    finally:
        proc.terminate()
        proc.wait(5)
    assert isinstance(silent, NoRepl) and silent.exit_code == 2 and seconds < 4
    assert "no MicroPython REPL there" in str(silent)


def test_a_pty_with_something_else_behind_it(tmp_path):
    talker = tmp_path / "talker"
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={talker}", "EXEC:cat,pty,raw,echo=0"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not talker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        echo, seconds = timed(str(talker))  # cat echoes the probe's bytes back
    finally:
        proc.terminate()
        proc.wait(5)
    assert isinstance(echo, NoRepl) and seconds < 4
    assert "it answers, but not as a MicroPython REPL" in str(echo)


def test_flash_commands_say_it_in_one_line(tmp_path):
    proc, port = pty_pair(tmp_path)
    try:
        for action in ("status", "verify", "install"):
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "vafa", "flash", action, "--port", port],
                capture_output=True, text=True, cwd=tmp_path, timeout=30,
            )  # fmt: skip
            assert time.monotonic() - start < 6
            assert done.returncode == 2 and "Traceback" not in done.stderr
            assert done.stderr == (
                f"vafa flash {action}: {port}: nothing answered within 2 s: no MicroPython REPL "
                "there (a wrong port, or the device is off or runs no MicroPython)\n"
            )
        assert not (tmp_path / "var").exists()  # no bundle built, no kit made for nothing
    finally:
        proc.terminate()
        proc.wait(5)


def test_install_says_bytes_and_percent(tmp_path, bundle):
    said = []
    kit = demo_kit(tmp_path / "kit")
    install.install(VirtualDevice(tmp_path / "dev"), UNIX, bundle, kit, KEYS, progress=said.append)
    lines = [line for line in said if line.startswith("bundle [")]
    total = sum(e["size"] for e in bundle.files.values())
    total += sum(os.path.getsize(bundle.path / n) for n in ("manifest.json", "manifest.sig"))
    assert len(lines) >= 2
    assert lines[-1].startswith(f"bundle [{len(bundle.files) + 2}/{len(bundle.files) + 2}] ")
    assert f"{total:,}/{total:,} bytes (100 %)" in lines[-1]
    first = lines[0].split("] ", 1)[1]
    copied = int(first.split("/")[0].replace(",", ""))
    assert 0 < copied < total and " %) " in first


def test_build_says_how_far_it_is(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "vafa", "flash", "build", "--out", str(tmp_path / "b")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("compiling [1/")  # at once, then at most one line a second
    assert any(line.startswith("compiled ") for line in lines)
