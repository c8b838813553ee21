"""`vafa emulator --ecr ...` and `vafa bridge ...` as a user runs them: two subprocesses of the
console entry point, over TCP and over a socat pty pair; results kept across a restart of the
emulator; exit statuses.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.ecr.support import REPO, need_program

VAFA = [sys.executable, "-m", "vafa"]


class EmulatorProcess:
    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [*VAFA, "emulator", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} from the emulator; it said: {self.seen}")

    def ready(self):
        cashier = self.wait_for("ecr cashier port: ").split(": ", 1)[1]
        self.wait_for("ready")
        return cashier

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def bridge(*args, timeout=120):
    return subprocess.run(
        [*VAFA, "bridge", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def bridge_json(*args):
    done = bridge(*args, "--json")
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done


def test_emulator_and_bridge_over_tcp_and_a_restart(tmp_path):
    data = tmp_path / "emu"
    emulator = EmulatorProcess("--ecr", "tcp://127.0.0.1:0", "--data-dir", str(data), "--fresh")
    try:
        port = emulator.ready()
        assert port.startswith("socket://127.0.0.1:")
        code, sale, done = bridge_json("sale", "1200000", "--port", port, "--invoice", "E-1")
        assert code == 0, done.stderr
        assert sale["result"] == "00" and sale["payable"] == 1_025_000
        assert sale["card"] == "****0014" and sale["command"] == "sale"
        code, text, _ = bridge_json("balance", "--port", port)
        assert code == 0 and text["club_balance"] == 5_000_000
        code, topup, done = bridge_json("topup", "200000", "--port", port, "--invoice", "E-2")
        assert code == 0, done.stderr
        assert topup["command"] == "topup" and topup["club_balance"] > 5_000_000
        human = bridge("topup", "200000", "--port", port, "--invoice", "E-2")  # kept: not rerun
        assert human.returncode == 0 and "topup E-2: approved (00)" in human.stdout
        assert bridge_json("topup", "1", "--port", port, "--invoice", "E-2")[1]["result"] == "14"
        human = bridge("status", "E-1", "--port", port)
        assert human.returncode == 0
        assert "status E-1: approved (00)" in human.stdout and "1,025,000" in human.stdout
        assert emulator.stop() == 0
    finally:
        emulator.stop()
    # a new emulator process on the same data: the result is still there, the sale not rerun
    again = EmulatorProcess("--ecr", "tcp://127.0.0.1:0", "--data-dir", str(data))
    try:
        port = again.ready()
        code, status, _ = bridge_json("status", "E-1", "--port", port)
        assert code == 0 and status["payable"] == 1_025_000 and status["rrn"] == sale["rrn"]
        code, repeat, _ = bridge_json("sale", "1200000", "--port", port, "--invoice", "E-1")
        assert repeat["stan"] == sale["stan"]
        code, status, _ = bridge_json("status", "E-2", "--port", port)
        assert (
            code == 0
            and status["command"] == "status"
            and status["status_of"] == "topup"
            and status["rrn"] == topup["rrn"]
        )
    finally:
        again.stop()
    charges = [json.loads(line) for line in (data / "terminal-1" / "bank.jsonl").open()]
    assert [c["charged"] for c in charges] == [True]


def test_emulator_makes_a_pty_pair_and_bridge_drives_it(tmp_path):
    need_program("socat")
    emulator = EmulatorProcess("--ecr", "pty", "--data-dir", str(tmp_path / "emu"),
                               "--card", "new-member")  # fmt: skip
    try:
        path = emulator.ready()
        assert os.path.exists(path)
        code, sale, done = bridge_json("sale", "450000", "--method", "cash", "--port", path)
        assert code == 0, done.stderr
        assert sale["result"] == "00" and sale["card"] == "****0030"
        assert sale["invoice"].startswith("S")  # generated
        code, close, _ = bridge_json("settlement", "--port", path)
        assert code == 0 and close["debit_count"] == 1 and close["debit_amount"] == 450_000
    finally:
        assert emulator.stop() == 0
    assert not os.path.exists(path)  # the pair went with the emulator


def test_emulator_on_a_pty_pair_the_user_made(tmp_path):
    need_program("socat")
    terminal, cashier = tmp_path / "terminal", tmp_path / "cashier"
    socat = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={terminal}", f"pty,raw,echo=0,link={cashier}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not (terminal.exists() and cashier.exists()) and time.monotonic() < deadline:
            time.sleep(0.01)
        emulator = EmulatorProcess("--ecr", str(terminal), "--data-dir", str(tmp_path / "emu"))
        try:
            emulator.wait_for("ready")
            code, answer, _ = bridge_json("status", "NONE", "--port", str(cashier))
            assert code == 1 and answer["result"] == "12"
        finally:
            emulator.stop()
    finally:
        socat.terminate()
        socat.wait()


def test_bridge_exit_statuses(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VAFA_ECR_PORT"}
    no_port = subprocess.run([*VAFA, "bridge", "balance"], cwd=REPO, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert no_port.returncode == 2 and "--port is required" in no_port.stderr
    code, error, _done = bridge_json("balance", "--port", str(tmp_path / "no-such-tty"))
    assert code == 3 and error["kind"] == "PortError" and "cannot open" in error["error"]
    assert error["sent"] is False and "no such port" in error["error"]
    usage = bridge("sale", "--port", "loop://")
    assert usage.returncode == 2  # argparse: the amount is missing


@pytest.mark.parametrize("argv", [["--ecr", "nosuch://x"], []])
def test_emulator_refuses_what_it_cannot_do(tmp_path, argv):
    proc = subprocess.run([*VAFA, "emulator", "--data-dir", str(tmp_path), *argv], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2
    assert "unknown ECR port" in proc.stderr or "nothing to do" in proc.stdout
