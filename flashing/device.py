"""The device as the flashing tools see it: run code, copy files. Two implementations:

- MpremoteDevice(port, target): a MicroPython REPL reached with mpremote (a serial port, a pty,
  socket://HOST:PORT), each call one `python -m mpremote` subprocess;
- VirtualDevice(folder): a folder as the device's filesystem, code run by a fresh unix
  MicroPython process in it (espefuse's --virt idea: host tests without a board, but the
  device-side code still runs on the real interpreter).

Both have exec(code) -> output, put(local, remote) for many files, read(remote) -> bytes.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from flashing.targets import micropython_binary

CHUNK = 16  # files per mpremote call: one connection for many copies


class DeviceError(Exception):
    """The device did not do what was asked; `what` says which step."""

    def __init__(self, what, message):
        super().__init__(f"{what}: {message}")
        self.what = what


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

    def _mpremote(self, args, what):
        command = [sys.executable, "-m", "mpremote", *self.target.mpremote_prefix(self.port)]
        result = subprocess.run(
            command + args, capture_output=True, text=True, timeout=self.timeout
        )
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
