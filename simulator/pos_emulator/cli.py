"""`vafa emulator`: the POS emulator, an emulated terminal QA can drive without a device.

    vafa emulator --ecr tcp://127.0.0.1:9100               # cashier: --port socket://127.0.0.1:9100
    vafa emulator --ecr pty                                # prints the cashier side's pty path
    vafa emulator --ecr pty:/tmp/vafa-ecr --card blocked   # cashier: --port /tmp/vafa-ecr
    vafa emulator --ecr tcp://127.0.0.1:9100 --club 10.0.0.5:8583

The real engine (simulator/pos_emulator/terminal.py) behind an ECR port, so that
`vafa bridge` (or a cashier application) drives it exactly as it would drive a device. With no
--club it starts its own demo club server, as `vafa demo` does. When a sale asks for a card,
the reader presents the --card persona.

Modes: a mode is a function (args, world) -> exit status, registered in MODES and chosen by
choose_mode(). "headless" serves the ECR port and logs one line per event; it is chosen when
no interactive mode applies (no terminal, --headless, or none registered). The interactive UI
and --scenario register their own modes (and arguments in add_arguments) the same way.
"""

import shutil
import signal
import sys
import threading
from pathlib import Path

from agent.ecr.link import Link
from agent.ecr.server import EcrServer
from agent.ecr.session import ThreadRunner
from simulator.pos_emulator.ecr_port import EcrPortError, open_ecr_port
from simulator.pos_emulator.terminal import (
    DEFAULT_PERSONA,
    PERSONAS,
    TERMINAL_NUMBER,
    EmulatedTerminal,
    start_demo_club,
)

DEFAULT_DATA_DIR = "var/emulator"


def add_arguments(parser):
    add = parser.add_argument
    add("--ecr", metavar="PORT",
        help="expose the ECR port: tcp://HOST:PORT (port 0: any), pty (a socat pair; prints "
             "the cashier side), pty:PATH, or a serial port path")  # fmt: skip
    add("--club", metavar="HOST:PORT",
        help="the club server (default: start the demo club server here)")  # fmt: skip
    add("--card", default=DEFAULT_PERSONA, choices=sorted(PERSONAS),
        help=f"the card the customer presents (default: {DEFAULT_PERSONA}): "
             + "; ".join(f"{k}: {v[0]}" for k, v in sorted(PERSONAS.items())))  # fmt: skip
    add("--data-dir", default=DEFAULT_DATA_DIR,
        help=f"terminal files and the demo club's database; kept between runs, so results "
             f"survive a restart (default: {DEFAULT_DATA_DIR})")  # fmt: skip
    add("--fresh", action="store_true", help="empty --data-dir first")
    add("--terminal", type=int, default=TERMINAL_NUMBER,
        help="terminal number in the club (docs/testing.md; default 1)")  # fmt: skip
    add("--baud", type=int, default=115200, help="serial ECR port rate")
    add("--headless", action="store_true", help="no interactive screen, even on a terminal")
    add("--verbose", "-v", action="store_true", help="also log every screen and receipt")
    add("--ui-lang", choices=("fa", "en"), default="fa",
        help="interactive UI: the display's and receipts' language (default fa)")  # fmt: skip
    add("--ui-bidi", choices=("visual", "logical"), default="visual",
        help="interactive UI: draw Persian shaped and reordered (visual, for terminals without "
             "bidi) or as logical text for terminals that reorder (default visual)")  # fmt: skip
    add("--scenario", nargs="+", metavar="FILE",
        help="run YAML scenarios (files or folders, docs/testing.md \"Scenarios\") headless; "
             "exit 1 when an expectation fails, 2 when a file is malformed")  # fmt: skip
    add(
        "--load",
        type=int,
        metavar="N",
        help="load mode: N emulated terminals against one club server (docs/performance.md)",
    )
    add("--seconds", type=float, default=10.0, help="load mode: how long (default 10)")
    add("--firmware", metavar="BUNDLE",
        help="with --scenario: run them against the flashed bundle BUNDLE (the folder of "
             "vafa flash build) under the unix MicroPython, peripherals as bytes "
             "(docs/flashing.md)")  # fmt: skip


class World:
    """What a mode runs against: the club, the emulated terminal, and the ECR port when asked.

    Usable as a context manager; everything it started stops on exit.
    """

    def __init__(self, args, out=print):
        self.args = args
        self.out = out
        self.club = None
        self.terminal = None
        self.opened = None
        self.server = None
        self.stopping = threading.Event()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        args = self.args
        data = Path(args.data_dir)
        if args.fresh and data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True, exist_ok=True)
        if args.club:
            host, _, port = args.club.rpartition(":")
            host, port = host or "127.0.0.1", int(port)
            self.out(f"club: {host}:{port}")
        else:
            self.club = start_demo_club(data / "club.db")
            host, port = "127.0.0.1", self.club.port
            self.out(f"club: 127.0.0.1:{port} (demo club server, database {data / 'club.db'})")
        self.terminal = EmulatedTerminal(
            data / f"terminal-{args.terminal}", port, host, args.card, args.terminal
        )
        report = self.terminal.engine.recover()
        self.out(f"terminal: {self.terminal.terminal_id}, card persona {args.card} "
                 f"({PERSONAS[args.card][0]}); unfinished work found: "
                 f"{len(report['actions'])}")  # fmt: skip
        if args.ecr:
            session = self.terminal.ecr_session(ThreadRunner())
            resolved = session.recover(report)
            if resolved:
                self.out(f"ecr: {len(resolved)} interrupted command(s) resolved")
            self.opened = open_ecr_port(args.ecr, args.baud)
            session.log = lambda text: self.out("ecr: " + text)
            # on a serial line each frame's time on the wire adds to the ACK timer (T1)
            serial_line = not args.ecr.startswith("tcp://")
            link = Link(bits_per_s=args.baud if serial_line else None)
            self.server = EcrServer(self.opened.port, session, link, log=session.log)
            self.out(f"ecr: {self.opened.description}")
            if self.opened.cashier:
                self.out(f"ecr cashier port: {self.opened.cashier}")

    def serve(self, wait_ms=50):
        """One round of the ECR port (reads for up to wait_ms); then logs screens/receipts."""
        if self.server is not None:
            self.server.poll(wait_ms)
        if self.args.verbose:
            for screen in self.terminal.screens.take():
                self.out("screen: " + " | ".join(line for line in screen if line))
            for receipt in self.terminal.receipts():
                self.out("receipt:\n" + "\n".join("    | " + line for line in receipt))
        else:
            self.terminal.screens.take()
            self.terminal.receipts()

    def close(self):
        if self.opened is not None:
            self.opened.close()
            self.opened = None
        if self.terminal is not None:
            self.terminal.close()
        if self.club is not None:
            self.club.stop()
            self.club = None


def run_headless(args, world):
    if world.server is None:
        world.out("vafa emulator: nothing to do headless without --ecr")
        return 2
    world.out("ready")
    while not world.stopping.is_set():
        world.serve(50)
    world.out("stopped")
    return 0


def run_ui(args, world):
    """The interactive emulator (simulator/pos_emulator/ui; needs the `emulator` extra)."""
    if world.server is not None:  # the UI does not serve an ECR port: --ecr runs headless
        return run_headless(args, world)
    try:
        from simulator.pos_emulator.ui.app import run
    except ImportError as e:
        world.out(f"vafa emulator: the interactive UI needs Textual ({e}); "
                  "pip install 'vafa[emulator]', or use --ecr / --headless")  # fmt: skip
        return 2
    return run(args, world)


# mode name -> run(args, world) -> exit status
MODES = {"headless": run_headless}
MODES["ui"] = run_ui


def run_scenarios(args, world):
    """--scenario: each scenario runs against its own fresh seeded club (not the world's)."""
    from simulator.pos_emulator.scenario import run_files

    factory = None
    if getattr(args, "firmware", None):
        from simulator.fil import firmware_factory

        factory = firmware_factory(args.firmware)
    return run_files(args.scenario, world.out, terminal_factory=factory)


def run_load(args, world):
    from simulator.pos_emulator.load import run_load_mode

    return run_load_mode(args, world)


MODES["scenario"] = run_scenarios
MODES["load"] = run_load


def choose_mode(args):
    """The mode for these arguments: an interactive one when registered, asked for and
    possible (a terminal on stdin and stdout), else headless."""
    if getattr(args, "scenario", None):
        return "scenario"
    if getattr(args, "load", None):
        return "load"
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if "ui" in MODES and interactive and not args.headless:
        return "ui"
    return "headless"


def _line(text):
    print(text, flush=True)


def run(args):
    mode = choose_mode(args)
    world = World(args, _line)

    def stop(signum, frame):
        world.stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with world:
            return MODES[mode](args, world)
    except EcrPortError as e:
        print(f"vafa emulator: {e}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
