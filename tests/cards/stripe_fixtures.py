"""Real parts for the stripe-reader tests: an X server (Xvfb) that xdotool types into, a pynput
wedge reader listening to it, and socat pty pairs for serial readers.

Each fixture starts its part, waits until it is ready and stops it. When a part is missing
the test is skipped with a message naming scripts/install-system-deps.sh (CI installs them, so
CI runs these tests). DISPLAY is set for the listener only: in the environment of xdotool, and
in os.environ while pynput is imported and the listener starts, restored right after.
"""

import contextlib
import importlib.util
import os
import select
import shutil
import subprocess
import time

import pytest

__all__ = ["XDisplay", "pty_pair", "stripe_device", "wedge", "xvfb"]

HINT = (
    "run 'sudo bash scripts/install-system-deps.sh' for socat, Xvfb and xdotool, and "
    "'pip install -e .[stripe]' for pyserial and pynput"
)
READY_S = 5.0


def need_program(name):
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed: {HINT}")


def need_module(name, what):
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{what} is not installed: {HINT}")


class XDisplay:
    """A running Xvfb: its display name, and xdotool typing into it."""

    def __init__(self, name):
        self.name = name

    def env(self):
        return dict(os.environ, DISPLAY=self.name)

    def type(self, text, delay_ms=5):
        """Type `text` with `delay_ms` per keystroke; "\\n" goes as the Return key (what readers
        press: xdotool types "\\r" as Return, "\\n" as Linefeed). xdotool sleeps half the delay
        after a key goes down and half after it comes up: keys start about delay_ms/2 apart
        (5 -> ~3 ms, 150 -> ~75 ms)."""
        subprocess.run(
            ["xdotool", "type", "--delay", str(delay_ms), text.replace("\n", "\r")],
            env=self.env(),
            check=True,
            timeout=60,
        )

    @contextlib.contextmanager
    def as_display(self):
        """DISPLAY set to this display in os.environ, restored afterwards."""
        saved = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = self.name
        try:
            yield
        finally:
            if saved is None:
                del os.environ["DISPLAY"]
            else:
                os.environ["DISPLAY"] = saved


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory):
    """An Xvfb on a free display number (Xvfb picks it: -displayfd)."""
    need_program("Xvfb")
    need_program("xdotool")
    log = open(tmp_path_factory.mktemp("xvfb") / "xvfb.log", "w+b")  # noqa: SIM115
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(wfd,),
        stdout=log,
        stderr=log,
    )
    os.close(wfd)
    number = b""
    deadline = time.monotonic() + READY_S
    try:
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([rfd], [], [], left)[0]:
                break
            chunk = os.read(rfd, 16)
            if not chunk:
                break
            number += chunk
    finally:
        os.close(rfd)
    if not number.strip().isdigit():
        proc.kill()
        proc.wait()
        log.seek(0)
        pytest.fail("Xvfb did not start: " + log.read().decode(errors="replace")[-2000:])
    try:
        yield XDisplay(":" + number.strip().decode())
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class WedgeHarness:
    """A started WedgeReader on the Xvfb display, what it passed through as typed text, and
    the display to type on."""

    def __init__(self, reader, texts, display):
        self.reader = reader
        self.texts = texts
        self.display = display

    def typed(self):
        return "".join(self.texts)

    def type(self, text, delay_ms=5):
        self.display.type(text, delay_ms)


@pytest.fixture
def wedge(xvfb):
    """A WedgeReader listening to the Xvfb keyboard, synchronized: keys typed from now on are
    seen (pynput reports ready a moment before its X record context is enabled)."""
    need_module("pynput", "pynput")
    from agent.card_io.wedge import WedgeReader

    texts = []
    with xvfb.as_display():
        try:
            import pynput.keyboard  # noqa: F401  (imported here: it reads DISPLAY at import)
        except ImportError as e:
            pytest.skip(f"pynput cannot use the X display: {e}")
        reader = WedgeReader(on_text=texts.append)
        reader.start()
    try:
        deadline = time.monotonic() + READY_S
        while "~" not in "".join(texts):
            if time.monotonic() > deadline:
                pytest.fail("the pynput listener never saw a key typed by xdotool")
            xvfb.type("~")
            reader.read(150)
        texts.clear()
        yield WedgeHarness(reader, texts, xvfb)
    finally:
        listener = reader.stop()
        # pynput's X11 listener thread ends at the next input event after stop(): send one
        subprocess.run(["xdotool", "key", "shift"], env=xvfb.env(), check=False, timeout=30)
        listener.join(5)


@pytest.fixture
def pty_pair(tmp_path):
    """(terminal end, reader end): the two paths of a socat pty pair, both ready."""
    need_program("socat")
    need_module("serial", "pyserial")
    terminal = tmp_path / "terminal"
    device = tmp_path / "reader"
    log = open(tmp_path / "socat.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={terminal}", f"pty,raw,echo=0,link={device}"],
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + READY_S
    while not (terminal.exists() and device.exists()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.seek(0)
            pytest.fail("socat did not make the pty pair: " + log.read().decode(errors="replace"))
        time.sleep(0.01)
    try:
        yield str(terminal), str(device)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def stripe_device(pty_pair):
    """The card reader's end of the pty pair, open with pyserial: write swipes to it."""
    import serial

    port = serial.Serial(pty_pair[1], 9600, timeout=1)
    try:
        yield port
    finally:
        port.close()
