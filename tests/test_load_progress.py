"""`vafa emulator --load` is long work: while it runs it says, each second, how far it is
(seconds, sales, errors, terminals still running), then its report. The real club server and
the real engine, two terminals for a few seconds."""

import re

from simulator.pos_emulator.load import run_load
from simulator.pos_emulator.terminal import start_demo_club

PROGRESS = re.compile(r"^load: (\d+) s of 2\.5: (\d+) sales, (\d+) errors, (\d) of 2 terminals")


def test_load_shows_running_counts_each_second(tmp_path):
    club = start_demo_club(tmp_path / "club.db")
    said = []
    try:
        status, report = run_load(2, 2.5, tmp_path / "terminals", "127.0.0.1", club.port,
                                  tmp_path / "club.db", out=said.append)  # fmt: skip
    finally:
        club.stop()
    assert status == 0 and report["transactions"] > 0
    lines = [(i, PROGRESS.match(line)) for i, line in enumerate(said)]
    running = [m for _, m in lines if m]
    assert len(running) >= 2, said  # one a second while the load runs
    sales = [int(m.group(2)) for m in running]
    assert sales == sorted(sales) and sales[-1] > 0  # counts that grow
    assert [int(m.group(1)) for m in running][:2] == [1, 2]
    last = max(i for i, m in lines if m)
    report_at = next(i for i, line in enumerate(said) if line.startswith("load: 2 terminal(s)"))
    assert last < report_at  # then the report
