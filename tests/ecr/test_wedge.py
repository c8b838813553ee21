"""The keyboard wedge under a real X server (Xvfb): a Tk entry has the focus, and what pynput
types lands in it; read back from the entry itself. In process, and as `vafa bridge sale
--wedge` in its own process against the emulated terminal."""

import os
import subprocess
import time

import pytest

from hostbridge.client import Result
from hostbridge.errors import WedgeError
from hostbridge.wedge import keyboard, type_result
from tests.ecr.support import REPO, start_xvfb, stop_process
from tests.ecr.test_cli_e2e import VAFA

tkinter = pytest.importorskip("tkinter")


@pytest.fixture(scope="module")
def display(tmp_path_factory):
    proc, name = start_xvfb(tmp_path_factory.mktemp("xvfb") / "xvfb.log")
    yield name
    stop_process(proc)


class Till:
    """A cashier application's amount field: a Tk entry with the keyboard focus."""

    def __init__(self, display):
        self.root = tkinter.Tk(screenName=display)
        self.entry = tkinter.Entry(self.root)
        self.entry.pack()
        self.root.update()
        self.entry.focus_force()
        self.pump(0.2)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.root.update()
            time.sleep(0.01)

    def text(self):
        return self.entry.get()

    def close(self):
        self.root.destroy()


@pytest.fixture
def till(display, monkeypatch):
    monkeypatch.setenv("DISPLAY", display)
    till = Till(display)
    yield till
    till.close()


def test_types_the_payable_into_the_focused_field(till):
    typed = type_result(Result("sale", {"result": "00", "payable": 1025000, "amount": 1200000}))
    till.pump(0.5)
    assert typed == "1025000" and till.text() == "1025000"


def test_types_nothing_when_not_approved(till):
    assert type_result(Result("sale", {"result": "01", "payable": 5})) is None
    till.pump(0.2)
    assert till.text() == ""


def test_no_display_is_a_wedge_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(WedgeError, match="no X display"):
        keyboard()


def test_bridge_sale_with_wedge_types_into_the_till(till, emulator_tcp, display):
    env = dict(os.environ, DISPLAY=display)
    proc = subprocess.Popen(
        [*VAFA, "bridge", "sale", "1200000", "--port", emulator_tcp.cashier, "--wedge"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        till.pump(0.05)
    out, err = proc.communicate(timeout=5)
    till.pump(0.5)
    assert proc.returncode == 0, err
    assert "typed 1025000 into the focused field" in out
    assert till.text() == "1025000"
