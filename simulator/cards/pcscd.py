"""Starting and finding pcscd (the PC/SC daemon) for tests, the bench and the demo (CPython).

    with PcscDaemon() as daemon:     # starts `pcscd -f -i` unless one is running; waits for it
        ...                          # stops it at the end only if it started it

Only one pcscd runs on a machine at a time; it is ready when its socket
/run/pcscd/pcscd.comm exists (about 0.1 s). missing_parts() says what is absent (pcscd, the
vpcd driver, pyscard), for skip messages that name scripts/install-system-deps.sh.
"""

import importlib.util
import os
import shutil
import subprocess
import time

COMM = "/run/pcscd/pcscd.comm"
LOCK_PATH = "/tmp/vafa-pcsc.lock"
VPCD_DRIVERS = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
)
VPCD_PORTS = (35963, 35964)  # the driver's two slots (reader.conf CHANNELID 0x8C7B and the next)
PORT_WAIT_S = 70.0  # longer than TCP's TIME_WAIT (60 s on Linux)
INSTALL_HINT = "run scripts/install-system-deps.sh (pcscd, vsmartcard-vpcd) and pip install pyscard"


def pcscd_path():
    return shutil.which("pcscd") or next(
        (p for p in ("/usr/sbin/pcscd", "/usr/local/sbin/pcscd") if os.path.exists(p)), None
    )


def missing_parts():
    """Names of what PC/SC tests need and this machine lacks ([] when all is there)."""
    missing = []
    if pcscd_path() is None:
        missing.append("pcscd")
    if not any(os.path.exists(p) for p in VPCD_DRIVERS):
        missing.append("vsmartcard-vpcd")
    if importlib.util.find_spec("smartcard") is None:
        missing.append("pyscard")
    return missing


def port_free(port):
    """Nothing holds the TCP port, TIME_WAIT included: vpcd binds its slots without
    SO_REUSEADDR, so a connection it closed first (pcscd stopped while a card was connected)
    keeps the next pcscd from listening there for a minute."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("0.0.0.0", port))
    except OSError:
        return False
    finally:
        s.close()
    return True


def wait_for_vpcd_ports(timeout=PORT_WAIT_S):
    """True once every vpcd port is free (False after timeout seconds)."""
    deadline = time.monotonic() + timeout
    while not all(port_free(p) for p in VPCD_PORTS):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


class PcscLock:
    """One user of the machine's pcscd and vpcd slots at a time, across processes (two test
    sessions at once would insert cards into the same slot): an exclusive flock on LOCK_PATH,
    held for the with-block."""

    def __init__(self, path=None, timeout=600.0):
        self.path = path or LOCK_PATH
        self.timeout = timeout
        self._file = None

    def acquire(self):
        import fcntl

        self._file = open(self.path, "a+b")  # noqa: SIM115 - held until release()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.release()
                    raise OSError(f"{self.path}: another user holds pcscd") from None
                time.sleep(0.2)

    def release(self):
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def running():
    """pcscd is up (its socket exists and accepts)."""
    if not os.path.exists(COMM):
        return False
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(COMM)
    except OSError:
        return False
    finally:
        s.close()
    return True


class PcscDaemon:
    """pcscd for the length of a with-block (or start()/stop())."""

    def __init__(self, log_path=None, timeout=5.0):
        self.log_path = log_path
        self.timeout = timeout
        self.process = None  # set only when this object started pcscd
        self._log = None

    @property
    def started_here(self):
        return self.process is not None

    def start(self):
        if running():
            return self
        path = pcscd_path()
        if path is None:
            raise OSError(f"pcscd not found: {INSTALL_HINT}")
        if os.path.exists(COMM):  # a stale socket of a pcscd that died
            os.unlink(COMM)
        if not wait_for_vpcd_ports():
            raise OSError(f"the vpcd ports {VPCD_PORTS} stay in use: another program holds them")
        out = subprocess.DEVNULL
        if self.log_path:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            out = self._log
        self.process = subprocess.Popen([path, "-f", "-i"], stdout=out, stderr=out)
        deadline = time.monotonic() + self.timeout
        while not running():
            if self.process.poll() is not None:
                raise OSError(f"pcscd exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise OSError("pcscd did not create its socket in time")
            time.sleep(0.02)
        return self

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
