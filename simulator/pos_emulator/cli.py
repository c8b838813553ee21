"""`vafa emulator`: the POS emulator, an emulated terminal QA can drive without a device.

    vafa emulator --ecr tcp://127.0.0.1:9100               # cashier: --port socket://127.0.0.1:9100
    vafa emulator --ecr pty                                # prints the cashier side's pty path
    vafa emulator --ecr pty:/tmp/vafa-ecr --card blocked   # cashier: --port /tmp/vafa-ecr
    vafa emulator --ecr tcp://127.0.0.1:9100 --club 10.0.0.5:8583

The real engine (simulator/pos_emulator/terminal.py) behind an ECR port, so that
`vafa bridge` (or a cashier application) drives it exactly as it would drive a device. With no
--club it starts its own demo club server, as `vafa demo` does. When a sale asks for a card,
the reader presents the --card persona. After power-up the terminal signs on, as a device does
(docs/protocol.md 5.9), and the result is shown ("sign-on: ...").

--club HOST:PORT is honoured by every mode: the interactive and headless terminal, --scenario
(every scenario against that club instead of a fresh seeded copy each) and --load. A value that
is not HOST:PORT, or where nothing accepts a connection, is one line on stderr and exit 2.

Modes: a mode is a function (args, world) -> exit status, registered in MODES and chosen by
choose_mode(). "headless" serves the ECR port and logs one line per event; it is chosen when
no interactive mode applies (no terminal, --headless, or none registered). The interactive UI
and --scenario register their own modes (and arguments in add_arguments) the same way.
"""

import signal
import sys
import threading
from pathlib import Path

from agent.ecr.link import Link
from agent.ecr.server import EcrServer
from agent.ecr.session import ThreadRunner
from simulator.club_server import seed
from simulator.pos_emulator.club_link import ClubAddressError, parse_club, probe_club
from simulator.pos_emulator.ecr_port import EcrPortError, open_ecr_port
from simulator.pos_emulator.terminal import (
    DEFAULT_PERSONA,
    PERSONAS,
    TERMINAL_NUMBER,
    EmulatedTerminal,
    empty_folder,
    start_demo_club,
    terminal_folder,
    terminal_merchant,
)
from vafa import args as types
from vafa.errors import BadInput

DEFAULT_DATA_DIR = "var/emulator"


def add_arguments(parser):
    add = parser.add_argument
    add("--ecr", metavar="PORT",
        help="expose the ECR port: tcp://HOST:PORT (port 0: any), pty (a socat pair; prints "
             "the cashier side), pty:PATH, or a serial port path")  # fmt: skip
    add("--club", metavar="HOST:PORT",
        help="an outside club server, for every mode (default: start the demo club server "
             "here; docs/testing.md \"An outside club\" says what it must hold)")  # fmt: skip
    add("--card", default=DEFAULT_PERSONA, choices=card_names(), metavar="NAME",
        help=f"the card the customer presents (default: {DEFAULT_PERSONA}): "
             + "; ".join(f"{k}: {v[0]}" for k, v in sorted(PERSONAS.items()))
             + "; magic-05 .. magic-94: the magic cards (vafa club-server magic)")  # fmt: skip
    add("--data-dir", default=DEFAULT_DATA_DIR,
        help=f"terminal files and the demo club's database; kept between runs, so results "
             f"survive a restart (default: {DEFAULT_DATA_DIR})")  # fmt: skip
    add("--fresh", action="store_true",
        help="empty --data-dir first (with --club, the terminals' key counters and STANs stay: "
             "that club remembers them)")  # fmt: skip
    add("--terminal", type=types.whole("--terminal", 1, 999_999), default=TERMINAL_NUMBER,
        help="terminal number in the club (docs/testing.md; default 1): 1 and 2 sell at the "
             "hypermarket, 3 at the pool, 4 at the bookshop, 99 is not registered")  # fmt: skip
    add("--merchant", metavar="ID",
        help="merchant id the terminal sends (field 42); default: the one the club registered "
             "for --terminal (the demo club's table for an outside club)")  # fmt: skip
    add("--baud", type=types.whole("--baud", low=1), default=115200,
        help="serial ECR port rate")  # fmt: skip
    add("--headless", action="store_true", help="no interactive screen, even on a terminal")
    add("--verbose", "-v", action="store_true", help="also log every screen and receipt")
    add("--ui-lang", choices=("fa", "en"), default="fa",
        help="interactive UI: the display's and receipts' language (default fa)")  # fmt: skip
    add("--ui-bidi", choices=("visual", "logical"), default="visual",
        help="interactive UI: draw Persian shaped and reordered, asking a terminal with bidi "
             "of its own not to reorder it again (visual, the default), or as logical text for "
             "a terminal that reorders (docs/testing.md \"Persian on a terminal\")")  # fmt: skip
    add("--scenario", nargs="+", metavar="FILE",
        help="run YAML scenarios (files or folders, docs/testing.md \"Scenarios\") headless; "
             "exit 1 when an expectation fails, 2 when a file is malformed")  # fmt: skip
    add(
        "--load",
        type=types.whole("--load", 1, 10_000),
        metavar="N",
        help="load mode: N emulated terminals against one club server (docs/performance.md)",
    )
    add("--seconds", type=types.number("--seconds", above=0), default=10.0,
        help="load mode: how long (default 10)")  # fmt: skip
    add("--firmware", metavar="BUNDLE|BOARD",
        help="with --scenario: run them against the flashed bundle BUNDLE (the folder of "
             "vafa flash build) under the unix MicroPython, peripherals as bytes, or against "
             "the firmware of BOARD mps2-an385 (built from VAFA_MICROPYTHON_SRC) on the "
             "emulated Cortex-M3 under QEMU, over the host link (docs/flashing.md)")  # fmt: skip


def card_names():
    """--card: the names of `vafa card personas` whose card is a number (the headless reader
    hands the engine a number, not a chip behaviour): the emulated terminal's personas and the
    magic cards."""
    from simulator.cards import catalogue

    magic = [n for n, e in catalogue.catalogue().items() if e.kind == "magic card"]
    return sorted(PERSONAS) + magic


def card_what(name):
    from simulator.cards import catalogue

    return PERSONAS[name][0] if name in PERSONAS else catalogue.catalogue()[name].what


class World:
    """What a mode runs against: the club, the emulated terminal, and the ECR port when asked.

    Usable as a context manager; everything it started stops on exit.
    """

    def __init__(self, args, out=print):
        self.args = args
        self.out = out
        self.club = None  # the demo club server started here, when there is no --club
        self.address = None  # (host, port) of the club every mode talks to
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
        mode = choose_mode(args)
        outside = parse_club(args.club) if args.club else None  # before anything is touched
        data = Path(args.data_dir)
        if args.fresh:  # an outside club remembers the terminals' key counters and STANs
            empty_folder(data, keep_lasting=outside is not None)
        data.mkdir(parents=True, exist_ok=True)
        if outside is not None:
            probe_club(*outside)  # fail fast: nothing there is one line, not a run of failures
            self.address = outside
            self.out(f"club: {outside[0]}:{outside[1]} (outside club)")
        elif mode != "scenario":  # scenarios start a fresh seeded club each
            self.club = start_demo_club(data / "club.db")
            self.address = ("127.0.0.1", self.club.port)
            self.out(f"club: 127.0.0.1:{self.club.port} (demo club server, database "
                     f"{data / 'club.db'})")  # fmt: skip
        if mode in ("scenario", "load"):  # they power up terminals of their own
            return
        host, port = self.address
        if getattr(args, "merchant", None):
            merchant = (args.merchant, seed.MERCHANTS.get(args.merchant, ("",))[0])
        else:
            merchant = terminal_merchant(args.terminal, self.club)
        self.terminal = EmulatedTerminal(
            terminal_folder(data, args.terminal),
            port,
            host,
            args.card,
            args.terminal,
            merchant=merchant,
        )
        report = self.terminal.power_up()
        store = f" ({merchant[1]})" if merchant[1] else ""
        self.out(f"terminal: {self.terminal.terminal_id} at merchant {merchant[0]}{store}, card "
                 f"persona {args.card} ({card_what(args.card)}); unfinished work found: "
                 f"{len(report['actions'])}")  # fmt: skip
        self.out(f"sign-on: {self.terminal.signed_on['message']}")
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
    """--scenario: each scenario runs against its own fresh seeded club, or with --club against
    that club (each terminal number one terminal, its files in --data-dir, across scenarios
    and runs)."""
    from simulator.pos_emulator.scenario import run_files

    factory = None
    if getattr(args, "firmware", None):
        if world.address is not None:
            print("vafa emulator: --firmware runs each scenario against a fresh seeded club "
                  "of its own; it does not take --club", file=sys.stderr)  # fmt: skip
            return 2
        from simulator.fil import BOARDS, board_factory, firmware_factory

        if args.firmware in BOARDS:
            say = lambda text: print(text, file=sys.stderr)  # noqa: E731 (build progress)
            factory = board_factory(args.firmware, progress=say)
        else:
            factory = firmware_factory(args.firmware)
    return run_files(
        args.scenario,
        world.out,
        terminal_factory=factory,
        club=world.address,
        data_dir=args.data_dir,  # the terminals' own folders: one terminal per number
    )


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


def check_inputs(args):
    """The paths given, checked before a club starts or a terminal powers up."""
    data = Path(args.data_dir)
    if data.exists() and not data.is_dir():
        raise BadInput(f"--data-dir {data}: a file, not a folder", "--data-dir")
    ecr = args.ecr or ""
    if ecr and "://" not in ecr and ecr != "pty" and not ecr.startswith("pty:"):
        from vafa.ports import looks_like_hostport, serial_ports

        if looks_like_hostport(ecr):
            raise BadInput(f"--ecr {ecr}: no such serial port; for TCP write tcp://{ecr}", "--ecr")
        if not Path(ecr).exists():
            ports = ", ".join(serial_ports()) or "none found"
            raise BadInput(f"--ecr {ecr}: no such port (serial ports here: {ports}; or tcp://"
                           f"HOST:PORT, pty, pty:PATH)", "--ecr")  # fmt: skip
    for name in getattr(args, "scenario", None) or ():
        if not Path(name).exists():
            raise BadInput(f"--scenario {name}: no such file or folder", "--scenario")
    firmware = getattr(args, "firmware", None)
    if firmware:
        check_firmware(firmware)


def check_firmware(firmware):
    """--firmware: a board whose firmware can be built and run here, or a bundle folder."""
    from simulator.fil import BOARDS, check_board

    if firmware in BOARDS:
        problem = check_board(firmware)
        if problem:
            raise BadInput(f"--firmware {firmware}: {problem}", "--firmware")
    elif not (Path(firmware) / "manifest.json").is_file():
        raise BadInput(f"--firmware {firmware}: no bundle there (no manifest.json); build one "
                       f"with vafa flash build --out {firmware}", "--firmware")  # fmt: skip


def run(args):
    mode = choose_mode(args)
    check_inputs(args)
    world = World(args, _line)

    def stop(signum, frame):
        world.stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with world:
            return MODES[mode](args, world)
    except (EcrPortError, ClubAddressError) as e:
        print(f"vafa emulator: {e}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
