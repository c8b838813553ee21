"""A sale over the ECR link: round trip at the cashier against the time its bytes need on the
wire, with the club transaction's own time shown apart.

    python bench/bench_ecr.py [--sales 30] [--ecr pty|tcp]

`vafa emulator --ecr pty` runs as its own process (the real engine, the demo club server, the
bank simulator) behind a socat pty pair; this process is the cashier: hostbridge's EcrClient at
115,200 baud. Per sale:

    round trip   client.sale() from the first byte written to the answer parsed
    club         the terminal's engine running the sale (the emulator logs it: "in N ms")
    link         round trip - club: frames, ACKs, the session, both sides' polling
    wire         (bytes written + bytes read) * 10 bits / 115,200: the time those bytes need
                 on a real serial line (a pty moves them at memory speed whatever the baud
                 rate says, so the round trip here does not include it)
    round/wire   the round trip over the wire time

and the same for a status inquiry (no club work: all link).
"""

import argparse
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hostbridge.client import EcrClient  # noqa: E402
from hostbridge.transport import Transport  # noqa: E402

BAUD = 115200
DONE = re.compile(r"ecr: (\w+) (\S+) -> (\d\d) in (\d+) ms")


class CountingTransport(Transport):
    def __init__(self, url, baudrate):
        super().__init__(url, baudrate)
        self.bytes = 0

    def read(self, timeout):
        data = super().read(timeout)
        self.bytes += len(data)
        return data

    def write(self, data):
        super().write(data)
        self.bytes += len(data)


class Emulator:
    def __init__(self, ecr, data_dir):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vafa", "emulator", "--ecr", ecr, "--data-dir", data_dir,
             "--fresh"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait(self, pattern, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            found = re.search(pattern, line)
            if found:
                return found
        raise SystemExit(f"emulator: no {pattern!r}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)


def measure(client, call, emulator, command):
    before = client.transport.bytes
    started = time.perf_counter()
    result = call()
    total = time.perf_counter() - started
    if not result.ok and result.result != "12":
        raise SystemExit(f"{command} failed: {result.to_dict()}")
    club = 0.0
    if command != "status":
        found = emulator.wait(DONE.pattern)
        club = int(found.group(4)) / 1000
    wire = (client.transport.bytes - before) * 10 / BAUD
    return total, club, wire, client.transport.bytes - before


def summary(name, rows):
    total = [r[0] * 1000 for r in rows]
    club = [r[1] * 1000 for r in rows]
    link = [(r[0] - r[1]) * 1000 for r in rows]
    wire = [r[2] * 1000 for r in rows]
    size = rows[0][3]
    ratio = [t / w for t, w in zip(total, wire, strict=True)]
    return (
        f"{name:<8} {size:>6} {statistics.median(wire):>7.1f} {statistics.median(total):>7.1f} "
        f"{statistics.median(ratio):>8.2f} {statistics.median(club):>7.1f} "
        f"{statistics.median(link):>7.1f} {max(link):>8.1f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=30)
    parser.add_argument("--ecr", choices=("pty", "tcp"), default="pty")
    args = parser.parse_args()
    spec = "pty" if args.ecr == "pty" else "tcp://127.0.0.1:0"
    with tempfile.TemporaryDirectory(prefix="vafa-bench-ecr-") as tmp:
        emulator = Emulator(spec, tmp)
        try:
            port = emulator.wait(r"ecr cashier port: (\S+)").group(1)
            emulator.wait("^ready$")
            client = EcrClient(port, BAUD, transport=CountingTransport(port, BAUD))
            for n in range(3):  # warm up: connections, imports, the club's caches
                measure(client, lambda n=n: client.sale(120_000, f"W-{n}", "1"), emulator, "sale")
            sales, status = [], []
            for n in range(args.sales):
                sales.append(measure(client, lambda n=n: client.sale(1_200_000, f"B-{n}", "1"),
                                     emulator, "sale"))  # fmt: skip
                status.append(measure(client, lambda n=n: client.status(f"B-{n}"), emulator,
                                      "status"))  # fmt: skip
            client.close()
        finally:
            emulator.stop()
    line = "socat pty pair" if args.ecr == "pty" else "TCP loopback"
    print(f"ECR over {args.ecr} ({line}), {BAUD} baud, {args.sales} sales after 3 warm-up; "
          f"Python {sys.version.split()[0]}")  # fmt: skip
    print("medians in ms (link max: the slowest one)")
    print(f"{'':<8} {'bytes':>6} {'wire':>7} {'round':>7} {'round/':>8} {'club':>7} "
          f"{'link':>7} {'link':>8}")  # fmt: skip
    print(f"{'':<8} {'':>6} {'':>7} {'trip':>7} {'wire':>8} {'':>7} {'':>7} {'max':>8}")
    print(summary("sale", sales))
    print(summary("status", status))


if __name__ == "__main__":
    main()
