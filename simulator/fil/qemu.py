"""Firmware in the loop on the emulated Arm board: the mps2-an385 firmware (`vafa flash firmware
--board mps2-an385`: MicroPython with the agent frozen in, littlefs and the `semihost` module)
under qemu-system-arm. The board's one UART is a TCP chardev; after power-up the harness types
the start at the REPL (ports/qemu runs no boot script), then hands the line to the host link's
gateway (simulator/gateway), which connects to the club, the bank leg and the peripherals'
endpoints and listens for the cashier and the virtual card, as for LinkedTerminal.

    with QemuTerminal(root, club.port, firmware_elf) as t:     # provisions, boots, serves ECR
        t.ecr.sale(...)
        t.restart()            # QEMU killed (a power cut) and booted again: the flash survives

The flash is `flash.img` in the terminal's folder (agent/device/board.py): provisioning writes
vafa/config.json, the keys and the TR-31 key block into it through the raw REPL, as a
technician's tool does over the board's serial line.
"""

import json
import os
import select
import socket
import subprocess
import time
from pathlib import Path

from flashing import firmware as firmwares
from flashing import keys, provision
from hostbridge.client import EcrClient
from hostbridge.link import Timers
from simulator.cards import personas as chip
from simulator.fil.linked import host_config, host_services
from simulator.fil.terminal import DEVICE_OPTIONS, FirmwareError, FirmwareTerminal, free_port
from simulator.gateway import FaultyLine, Gateway, SocketLine

BOARD = "mps2-an385"
FLASH = "flash.img"
START = "import agent.device.board as board\nboard.run(" + repr(FLASH) + ")\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"


class BoardRepl:
    """The board's REPL on a socket: the raw REPL (Ctrl-A), code run with Ctrl-D; what the
    board says is appended to the file `log`."""

    def __init__(self, sock, log=None):
        self.sock = sock
        self.buf = b""
        self.log = log

    def read_until(self, token, timeout_s=30.0):
        deadline = time.monotonic() + timeout_s
        while token not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise FirmwareError(
                    f"board: no {token!r} within {timeout_s} s: {self.buf[-300:]!r}"
                )
            data = self.sock.recv(4096)
            if not data:
                raise FirmwareError(f"board: the line closed: {self.buf[-300:]!r}")
            if self.log is not None:
                with open(self.log, "ab") as f:
                    f.write(data)
            self.buf += data
        at = self.buf.index(token) + len(token)
        out, self.buf = self.buf[:at], self.buf[at:]
        return out

    def raw(self):
        self.sock.sendall(b"\r\x03\x03\x01")  # stop what runs, then the raw REPL
        self.read_until(RAW_BANNER)

    def send(self, code):
        """Start code in the raw REPL; it runs once "OK" came back."""
        self.sock.sendall(code.encode() + b"\x04")
        self.read_until(b"OK")

    def exec(self, code, timeout_s=60.0):
        """Run code; its output. FirmwareError with the traceback when it raised."""
        self.send(code)
        out = self.read_until(b"\x04", timeout_s)[:-1]
        err = self.read_until(b"\x04>", timeout_s)[:-2]
        if err:
            raise FirmwareError("board: " + err.decode(errors="replace").strip()[-800:])
        return out.decode(errors="replace")


def write_files_code(files):
    """Code that makes the folders and writes {device path: text} on the board's flash."""
    lines = ["import agent.device.board as board, os", f"board.mount({FLASH!r})"]
    folders = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
    for folder in folders:
        path = ""
        for part in folder.split("/"):
            path = f"{path}/{part}" if path else part
            lines.append(f"try:\n    os.mkdir({path!r})\nexcept OSError:\n    pass")
    for path, text in sorted(files.items()):
        lines.append(f"with open({path!r}, 'w') as f:\n    f.write({text!r})")
    lines.append("print('VAFA-WROTE', len(os.listdir('vafa')))")
    return "\n".join(lines) + "\n"


class QemuTerminal(FirmwareTerminal):
    gateway = None
    qemu = None
    line = None

    def setup(self, firmware):
        self.elf = Path(firmware)
        if not self.elf.is_file():
            raise FirmwareError(f"no firmware at {self.elf}: vafa flash firmware --board {BOARD}")
        self.device = None
        self.console_log = self.root / "board.log"

    def _log(self, text):
        with open(self.root / "gateway.log", "a") as f:
            f.write(f"{time.monotonic():.3f} {text}\n")

    def flash(self, club_host, club_port, card_port):
        """Provision the board: the demo terminal's kit, the host link configuration and the
        TEST ONLY keys written into its flash through the raw REPL."""
        test_keys = keys.test_keys()
        kit = provision.write_kit(
            provision.demo_kit(test_keys, self.number, club_host, club_port), self.root / "kit"
        )
        config = json.loads((Path(kit) / "config.json").read_text())
        for key in DEVICE_OPTIONS:  # the scenario's terminal settings, as on the emulated one
            if key in self.options:
                config[key] = self.options[key]
        config["peripherals"] = dict.fromkeys(
            ("display", "printer", "keypad", "card", "stripe", "bank", "ecr"), ""
        )
        files = {
            "vafa/config.json": json.dumps(host_config(config)),
            "vafa/initial_key.tr31": (Path(kit) / "initial_key.tr31").read_text(),
            "vafa/keys/fw": test_keys.firmware.hex(),
            "vafa/keys/kbpk": test_keys.kbpk.hex(),
            "vafa/keys/imk": chip.TEST_IMK.hex(),
        }
        services = host_services(self, club_host, club_port, card_port)
        self.gateway = Gateway(None, services, log=self._log).start()
        self.provision(files, Path(kit))

    def provision(self, files, kit):
        """Write {device path: text} on the board's flash (the raw REPL, power on then off);
        `kit` is the kit's folder (config.json, initial_key.tr31) for a tool that wants it."""
        repl = self._power_on()
        try:
            out = repl.exec(write_files_code(files))
            if "VAFA-WROTE" not in out:
                raise FirmwareError("board: provisioning wrote nothing: " + out[-300:])
        finally:
            self._power_off()

    def _power_on(self, timeout_s=30):
        self.serial_port = port = free_port()
        argv = [*firmwares.BOARDS[BOARD].run_command(self.elf)]
        argv = [a for a in argv if a != "-nographic"]
        # nodelay=on: QEMU's side of the socket without Nagle (else every small frame the
        # board writes waits for the host's delayed ACK: a sale took 1.1 s instead of 0.4 s)
        serial = f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on"
        argv += ["-display", "none", "-serial", serial]
        with open(self.console_log, "ab") as log:
            self.qemu = subprocess.Popen(argv, cwd=self.root, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if self.qemu.poll() is not None or time.monotonic() > deadline:
                    raise FirmwareError("QEMU did not start: " + self.output()[-800:]) from None
                time.sleep(0.05)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        repl = BoardRepl(sock, self.console_log)
        repl.read_until(b">>> ")
        repl.raw()
        self.sock = sock
        return repl

    def _power_off(self):
        if self.qemu is not None:
            self.qemu.kill()
            self.qemu.wait(10)
            self.qemu = None

    def start(self, timeout_s=60):
        """Power up, type the start at the REPL, hand the line to the gateway, wait for the
        device's VAFA-READY and connect the cashier."""
        boots = self.output().count("VAFA-READY")
        started = time.monotonic()
        repl = self._power_on()
        repl.send(START)
        self.line = FaultyLine(SocketLine.from_socket(repl.sock))
        if repl.buf:
            self.gateway.feed(repl.buf)  # what came with the "OK"
        self.gateway.attach(self.line)
        deadline = time.monotonic() + timeout_s
        while self.output().count("VAFA-READY") == boots:
            if self.qemu.poll() is not None or time.monotonic() > deadline:
                raise FirmwareError("the board did not start:\n" + self.output()[-3000:])
            time.sleep(0.05)
        self.boot_s = time.monotonic() - started
        self.ecr = EcrClient(f"socket://127.0.0.1:{self.ecr_port}", timers=Timers(busy_s=0))

    def output(self):
        console = self.gateway.console_text() if self.gateway is not None else ""
        log = self.console_log.read_text(errors="replace") if self.console_log.exists() else ""
        return console + "\n" + log

    def stop(self):
        """Power off: QEMU killed at once, whatever the board was doing."""
        if self.ecr is not None:
            self.ecr.close()
            self.ecr = None
        self._power_off()

    def close(self):
        super().close()
        if self.gateway is not None:
            self.gateway.stop()


def firmware_path(src=None, cache=None, options=None, progress=None):
    """The mps2-an385 firmware of the default model, built (or found in the cache) from the
    MicroPython source of --micropython-src / VAFA_MICROPYTHON_SRC."""
    source = firmwares.find_source(src or os.environ.get(firmwares.ENV_SOURCE))
    return firmwares.build(BOARD, source, cache=cache, options=options, progress=progress).path


def qemu_factory(elf):
    """A terminal factory for the scenario runner: each scenario gets a fresh board (a blank
    flash) talking to that scenario's club."""

    def make(copy):
        options = copy.world.scenario.terminal
        return QemuTerminal(copy.root, copy.port, elf, copy.number, options=options)

    return make
