"""The device as the flashing tools see it: run code, copy files. Two implementations:

- MpremoteDevice(port, target): a MicroPython REPL reached with mpremote (a serial port, a pty,
  socket://HOST:PORT), each call one `python -m mpremote` subprocess;
- VirtualDevice(folder): a folder as the device's filesystem, code run by a fresh unix
  MicroPython process in it (espefuse's --virt idea: host tests without a board, but the
  device-side code still runs on the real interpreter).

Both have exec(code) -> output, put(local, remote) for many files, read(remote) -> bytes,
restart() -> whether the board was restarted.

Fail fast (MpremoteDevice.probe, before the first mpremote call): mpremote says "failed to
access PORT (it may be in use by another program)" for three different problems and waits
without end on a port where no REPL answers. The probe opens the port itself, as mpremote will
(exclusively), and says which one it is: no such path (PortError "missing", or a HOST:PORT
without socket://), nothing listening at a socket:// address ("refused"), a port another
program holds ("busy"); then it asks for the raw REPL (Ctrl-C, Ctrl-A, then Ctrl-B back) and
raises NoRepl within PROBE_S seconds when no MicroPython answers (a pty with a shell or nothing
behind it, a device that is off).
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from flashing.targets import micropython_binary

CHUNK = 16  # files per mpremote call: one connection for many copies
PROBE_S = 2.0  # how long a MicroPython REPL has to answer the probe
RAW_REPL = b"raw REPL; CTRL-B to exit"


class DeviceError(Exception):
    """The device did not do what was asked; `what` says which step."""

    exit_code = 1

    def __init__(self, what, message):
        super().__init__(f"{what}: {message}")
        self.what = what


class PortError(DeviceError):
    """The device's port cannot be opened; `kind` says why (vafa/ports.py: missing, hostport,
    refused, unresolved, timeout, busy, permission, other). A wrong port is bad input (exit
    status 2); a busy one is the right port at the wrong time (1)."""

    def __init__(self, port, kind, message):
        Exception.__init__(self, message)
        self.what = "connect"
        self.port = port
        self.kind = kind
        self.exit_code = 1 if kind == "busy" else 2


class NoRepl(DeviceError):
    """The port opens, but no MicroPython REPL answers there."""

    exit_code = 2

    def __init__(self, port, message):
        Exception.__init__(self, message)
        self.what = "connect"
        self.port = port


def probe(port, seconds=PROBE_S):
    """PortError or NoRepl, with the cause in words, unless a MicroPython REPL answers on
    `port` within `seconds`; leaves it in the friendly REPL."""
    import serial

    from vafa.ports import open_problem

    try:
        conn = serial.serial_for_url(port, baudrate=115200, timeout=0.05, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as e:
        kind, sentence = open_problem(port, e)
        raise PortError(port, kind, sentence) from None
    got = b""
    try:
        conn.write(b"\r\x03\x03")  # Ctrl-C twice: stop a running program
        conn.write(b"\r\x01")  # Ctrl-A: the raw REPL, which answers with its banner
        deadline = time.monotonic() + seconds
        while RAW_REPL not in got and time.monotonic() < deadline:
            got += conn.read(4096)
        if RAW_REPL in got:
            conn.write(b"\x02")  # Ctrl-B: back to the friendly REPL
            conn.flush()
    except (serial.SerialException, OSError) as e:
        raise PortError(port, "other", f"{port}: {e}") from None
    finally:
        conn.close()
    if RAW_REPL in got:
        return
    if not got.strip():
        raise NoRepl(
            port,
            f"{port}: nothing answered within {seconds:g} s: no MicroPython REPL there "
            "(a wrong port, or the device is off or runs no MicroPython)",
        )
    said = got.decode("ascii", "replace").strip()[-60:]
    raise NoRepl(port, f"{port}: it answers, but not as a MicroPython REPL (it said {said!r})")


def _check(result, what):
    if result.returncode:
        raise DeviceError(what, (result.stderr or result.stdout).strip()[-800:])
    if "Traceback (most recent call last)" in result.stdout:
        raise DeviceError(what, result.stdout.strip()[-800:])
    return result.stdout


class MpremoteDevice:
    def __init__(self, port, target, timeout=120):
        self.port = port
        self.target = target
        self.timeout = timeout
        self.probed = False

    def probe(self):
        """Fail fast when the port is wrong, busy or has no MicroPython (module doc); once."""
        if not self.probed:
            probe(self.port)
            self.probed = True

    def _mpremote(self, args, what):
        self.probe()
        command = [sys.executable, "-m", "mpremote", *self.target.mpremote_prefix(self.port)]
        try:
            result = subprocess.run(
                command + args, capture_output=True, text=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            raise DeviceError(what, f"no answer from the device on {self.port} within "
                                    f"{self.timeout:g} s") from None  # fmt: skip
        if result.returncode and "No module named mpremote" in result.stderr:
            raise DeviceError(what, "mpremote is not installed: pip install 'vafa[flashing]'")
        return _check(result, what)

    def exec(self, code, what="exec"):
        return self._mpremote(["exec", code], what)

    def put(self, pairs, progress=None):
        """Copy [(local path, device path)]; the device folders must exist."""
        pairs = list(pairs)
        for start in range(0, len(pairs), CHUNK):
            args = []
            for local, remote in pairs[start : start + CHUNK]:
                args += ["+"] if args else []
                args += ["fs", "cp", str(local), ":" + remote]
            self._mpremote(args, "copy")
            if progress:
                done = min(start + CHUNK, len(pairs))
                progress(done, len(pairs), pairs[done - 1][1])

    def read(self, remote):
        out = self._mpremote(["fs", "cat", ":" + remote], "read " + remote)
        return out.encode()

    def restart(self):
        """Restart the board into its loader (the target's mpremote command); False when the
        target has none (the unix port: its process would end)."""
        if not self.target.restart:
            return False
        self._mpremote(list(self.target.restart), "restart")
        return True


class VirtualDevice:
    def __init__(self, folder, heapsize=None, micropython=None, timeout=120):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.heapsize = heapsize
        self.micropython = micropython or micropython_binary()
        self.timeout = timeout

    def command(self, script, heapsize=None):
        heap = [] if not heapsize else ["-X", f"heapsize={heapsize}"]
        return [self.micropython, *heap, script]

    def run(self, code, heapsize=None):
        """Run code in a fresh MicroPython process in the device folder: the CompletedProcess.
        The heap cap (-X heapsize) is `heapsize`, else the device's; the tools' own calls
        (exec) run uncapped."""
        script = self.folder / ".vdev_run.py"
        script.write_text(code)
        env = dict(os.environ, MICROPYPATH=".:.frozen")
        try:
            return subprocess.run(
                self.command(script.name, self.heapsize if heapsize is None else heapsize),
                cwd=self.folder,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=env,
            )
        finally:
            script.unlink()

    def exec(self, code, what="exec"):
        return _check(self.run(code, 0), what)

    def put(self, pairs, progress=None):
        pairs = list(pairs)
        for i, (local, remote) in enumerate(pairs, 1):
            target = self.folder / remote
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            if progress and (i % CHUNK == 0 or i == len(pairs)):
                progress(i, len(pairs), remote)

    def read(self, remote):
        return (self.folder / remote).read_bytes()

    def restart(self):
        """Every run is a fresh process (a power cycle already): nothing to restart."""
        return False
