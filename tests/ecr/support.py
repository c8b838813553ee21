"""Real parts for the ECR tests: the emulated terminal behind a real ECR port (TCP, or a socat
pty pair), a bank leg the test can hold mid-payment, a raw cashier that writes exactly the bytes
a test wants, a byte-level TCP proxy that loses or damages what passes, and an Xvfb.

A missing system part (socat, Xvfb) skips its tests with a message naming
scripts/install-system-deps.sh.
"""

import argparse
import os
import select
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import serial

from hostbridge.deadline import Deadline
from hostbridge.link import Hunter
from hostbridge.protocol import build_ack, build_frame, build_payload, parse_payload
from simulator.pos_emulator import cli as emulator_cli

REPO = Path(__file__).resolve().parents[2]
HINT = "run 'sudo bash scripts/install-system-deps.sh' (socat, Xvfb)"


def need_program(name):
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed: {HINT}")


class BankGate:
    """The bank leg, with a gate: while `hold` is set, pay() waits (the customer is still at
    the PSP's payment screen) and `entered` tells the test a payment is waiting."""

    def __init__(self, bank):
        self.bank = bank
        self.hold = threading.Event()
        self.entered = threading.Event()
        self.released = threading.Event()

    def pay(self, amount, card, txn_id):
        if self.hold.is_set():
            self.entered.set()
            self.released.wait(30)
        return self.bank.pay(amount, card, txn_id)

    def status(self, txn_id):
        return self.bank.status(txn_id)

    def release(self):
        self.released.set()


class Emulator:
    """`vafa emulator --ecr SPEC` in this process: the same World the command runs, its ECR
    port served by a thread."""

    def __init__(self, root, ecr, card="active", extra=()):
        parser = argparse.ArgumentParser()
        emulator_cli.add_arguments(parser)
        argv = ["--ecr", ecr, "--data-dir", str(root), "--card", card, "--headless", "-v", *extra]
        self.args = parser.parse_args(argv)
        self.lines = []
        self.world = emulator_cli.World(self.args, self.lines.append)
        self.thread = None

    def start(self):
        self.world.start()
        engine = self.world.terminal.engine
        self.gate = BankGate(engine.bank)
        engine.bank = self.gate
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        while not self.world.stopping.is_set():
            self.world.serve(20)

    @property
    def cashier(self):
        return self.world.opened.cashier

    @property
    def bank(self):
        return self.gate.bank

    @property
    def session(self):
        return self.world.server.session

    def stop(self):
        self.world.stopping.set()
        self.gate.release()
        if self.thread is not None:
            self.thread.join(10)
        self.world.close()


def start_emulator(kind, root, card="active"):
    if kind == "pty":
        need_program("socat")
        return Emulator(root, f"pty:{root}/ecr", card).start()
    return Emulator(root, "tcp://127.0.0.1:0", card).start()


class RawCashier:
    """A cashier side that writes exactly what the test says, through pyserial (socket:// or a
    pty path), and reads events with hostbridge's Hunter."""

    def __init__(self, url):
        self.url = url
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0)
        self.hunter = Hunter(0.5)
        self.events = []

    def write(self, data):
        self.port.write(data)
        self.port.flush()

    def frame(self, seq, command, **fields):
        return build_frame(build_payload(seq, command, fields))

    def send(self, seq, command, **fields):
        self.write(self.frame(seq, command, **fields))

    def read(self, seconds):
        """Everything that arrives within `seconds`: a list of events."""
        deadline = Deadline(seconds)
        got = []
        while not deadline.expired():
            self.port.timeout = deadline.slice(0.05)
            data = self.port.read(1)
            if data:
                self.port.timeout = 0
                data += self.port.read(4096)
            now = time.monotonic()
            got += self.hunter.feed(data, now) + self.hunter.expire(now)
        return got

    def wait_for(self, predicate, seconds=10.0, ack=True):
        """Read until an event matches; ACK every frame when `ack`. Returns (event, all)."""
        deadline = Deadline(seconds)
        seen = []
        while not deadline.expired():
            for event in self.read(0.05):
                seen.append(event)
                if ack and event[0] == "frame":
                    self.write(build_ack(event[1][0]))
                if predicate(event):
                    return event, seen
        raise AssertionError(f"nothing matched within {seconds} s; saw {seen}")

    def answer(self, seconds=10.0, ack=True):
        """The next message (decoded) from the terminal."""
        event, _ = self.wait_for(lambda e: e[0] == "frame", seconds, ack)
        return parse_payload(event[1])

    def close(self):
        self.port.close()


class Proxy:
    """A TCP proxy between the cashier and the terminal that hands every chunk to a filter:
    to_terminal(data) and to_cashier(data) return the bytes to pass on (drop, damage, split)."""

    def __init__(self, upstream):
        host, port = upstream.split("://")[1].rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.to_terminal = lambda data: data
        self.to_cashier = lambda data: data
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"socket://127.0.0.1:{self.listener.getsockname()[1]}"

    def _run(self):
        self.listener.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                cashier, _ = self.listener.accept()
            except OSError:
                continue
            terminal = socket.create_connection(self.upstream)
            pairs = {cashier: (terminal, "to_terminal"), terminal: (cashier, "to_cashier")}
            open_ = True
            while open_ and not self.stopping.is_set():
                readable, _, _ = select.select(list(pairs), [], [], 0.05)
                for sock in readable:
                    data = sock.recv(4096)
                    if not data:
                        open_ = False
                        break
                    peer, direction = pairs[sock]
                    out = getattr(self, direction)(data)
                    if out:
                        peer.sendall(out)
            cashier.close()
            terminal.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


def start_xvfb(log_path):
    """An Xvfb on a free display number: (process, ":N")."""
    need_program("Xvfb")
    rfd, wfd = os.pipe()
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(wfd,),
        stdout=log,
        stderr=log,
    )
    os.close(wfd)
    number = b""
    deadline = time.monotonic() + 5
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([rfd], [], [], 0.1)[0]:
            chunk = os.read(rfd, 16)
            if not chunk:
                break
            number += chunk
    os.close(rfd)
    log.close()
    if not number.strip().isdigit():
        proc.kill()
        proc.wait()
        pytest.fail("Xvfb did not start: " + Path(log_path).read_text(errors="replace")[-2000:])
    return proc, ":" + number.strip().decode()


def stop_process(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
