"""Firmware in the loop over the host link: the flashed bundle under the unix MicroPython with
its one serial line (stdin/stdout on a socat pty) as its only way out, and the gateway of
simulator/gateway on the other end of the pty opening every TCP connection for it (the club,
the bank leg, the peripherals' endpoints) and listening for the cashier and the virtual card.

LinkedTerminal is a FirmwareTerminal (simulator/fil/terminal.py) in every other respect: the
same endpoints, the same cashier, the same scenario runner hooks. `line` is the gateway's
FaultyLine (no faults unless set): a test loses, damages or cuts the serial line with it.
"""

import contextlib
import json
import os
import signal
import subprocess
import time

from flashing.targets import micropython_binary
from hostbridge.client import EcrClient
from hostbridge.link import Timers
from simulator.fil.terminal import MAIN, FirmwareError, FirmwareTerminal
from simulator.gateway import FaultyLine, Gateway, PtyLine

# peripheral -> the endpoint attribute of FirmwareTerminal the gateway connects to
CONNECTS = {"display": "lcd", "printer": "printer", "keypad": "keypad", "stripe": "stripe",
            "bank": "psp"}  # fmt: skip


def host_services(terminal, club_host, club_port, card_port):
    """The gateway's service table for one terminal (docs/hostlink.md 4.1)."""
    services = {"club": ("connect", club_host, club_port)}
    for name, attr in CONNECTS.items():
        services[name] = ("connect", "127.0.0.1", getattr(terminal, attr).port)
    services["card"] = ("listen", "127.0.0.1", card_port)
    services["ecr"] = ("listen", "127.0.0.1", terminal.ecr_port)
    return services


def host_config(config):
    """vafa/config.json of a device on the host link: every peripheral a host channel."""
    config = dict(config)
    config["hostlink"] = {"line": "stdio"}
    config["peripherals"] = {name: "host:" + name for name in config["peripherals"]}
    return config


class LinkedTerminal(FirmwareTerminal):
    gateway = None
    socat = None

    def flash(self, club_host, club_port, card_port):
        super().flash(club_host, club_port, card_port)
        path = self.device.folder / "vafa/config.json"
        path.write_text(json.dumps(host_config(json.loads(path.read_text()))))
        self.gateway = Gateway(None, host_services(self, club_host, club_port, card_port),
                               log=self._log).start()  # fmt: skip
        self.line = None

    def _log(self, text):
        with open(self.root / "gateway.log", "a") as f:
            f.write(f"{time.monotonic():.3f} {text}\n")

    def start(self, timeout_s=60):
        folder = self.device.folder
        (folder / MAIN).write_text("import boot\nboot.run(serve=True)\n")
        boots = self.output().count("VAFA-READY")
        tty = str(self.root / "device.tty")
        if os.path.lexists(tty):
            os.unlink(tty)
        command = f"{micropython_binary()} -X heapsize={self.heapsize} {MAIN}"
        env = dict(os.environ, MICROPYPATH=".:.frozen")
        with open(self.log, "ab") as log:
            self.socat = subprocess.Popen(
                ["socat", f"pty,raw,echo=0,link={tty}", f"EXEC:{command},pty,raw,echo=0"],
                cwd=folder, stdout=log, stderr=log, env=env, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(tty):
            if self.socat.poll() is not None or time.monotonic() > deadline:
                raise FirmwareError("socat did not make the pty:\n" + self.output()[-2000:])
            time.sleep(0.02)
        self.line = FaultyLine(PtyLine(tty))
        self.gateway.attach(self.line)
        while self.output().count("VAFA-READY") == boots:
            if self.socat.poll() is not None or time.monotonic() > deadline:
                raise FirmwareError("the device did not start:\n" + self.output()[-3000:])
            time.sleep(0.05)
        self.ecr = EcrClient(f"socket://127.0.0.1:{self.ecr_port}", timers=Timers(busy_s=0))

    def output(self):
        console = self.gateway.console_text() if self.gateway is not None else ""
        return console + "\n" + super().output()

    def stop(self):
        """Power off: the device process ends at once, whatever it was doing."""
        if self.ecr is not None:
            self.ecr.close()
            self.ecr = None
        if self.socat is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.socat.pid, signal.SIGKILL)
            self.socat.wait(10)
            self.socat = None

    def close(self):
        super().close()
        if self.gateway is not None:
            self.gateway.stop()
