"""`vafa flash`: build the firmware bundle, provision terminals, install on a device, check it.

    vafa flash build [--model vafa-t1|full]        # var/flash/bundle (TEST ONLY demo key)
    vafa flash provision [--csv terminals.csv]     # kits under var/flash/terminals
    vafa flash install --port PORT [--target unix|esp32] [--terminal DIR]
    vafa flash verify --port PORT
    vafa flash status --port PORT
    vafa flash rollback --port PORT [--target unix|esp32]   # back to the bundle before
    vafa flash ports [--json]                      # the serial ports of this machine
    vafa flash base-image --firmware ESP32_GENERIC.bin [--out merged.bin]   # esptool merge-bin
    vafa flash firmware --board unix-x86|mps2-an385 [--micropython-src DIR] [--model M] [--out DIR]

Without --terminal, install provisions and installs the demo club's terminal 1; without a
built bundle it builds one first. --model names the terminal model whose drivers the bundle
carries (flashing/bundle.py MODELS; default vafa-t1); install and verify refuse a bundle built
for another model than the one asked for, and install one built for another model than the
device runs (its active bundle's manifest) unless --change-model. --keys FILE replaces the
TEST ONLY demo keys (flashing/keys.py). `firmware` builds MicroPython from source with the
model's modules frozen in (flashing/firmware.py; the source from --micropython-src or
VAFA_MICROPYTHON_SRC).

Every input is checked before anything is built or copied: --keys, --csv, --bundle (a given
path must hold a bundle; only the default one is built when absent), --terminal (a kit folder:
config.json's fields, the key block opening under the KBPK), then the port (flashing/device.py
probe: no such port, nothing listening, a busy port and a port without MicroPython are four
different sentences, each within about two seconds). Exit
status 2 for bad input (a wrong port or bundle included), 1 for a step that failed.

rollback: the device keeps the bundle before the last install in its other slot (A/B);
rollback verifies it there (signature, every hash), makes it active, reads the state back and
restarts the board where the target can (esp32), else the terminal boots it at its next start.
"""

import json
import sys
import time
from pathlib import Path

from flashing import bundle as bundles
from flashing import firmware as firmwares
from flashing import install as installer
from flashing import provision, targets
from flashing.device import DeviceError, MpremoteDevice
from flashing.keys import load_keys
from vafa import args as types
from vafa.errors import BadInput, VafaError


class ModelMismatch(BadInput):
    """The bundle was built for another terminal model than the device runs."""


BUNDLE_DIR = Path("var/flash/bundle")
TERMINALS_DIR = Path("var/flash/terminals")
PROGRESS_S = 1.0  # a line this often while modules compile
TEST_KEY_LINE = (
    "signed with the TEST ONLY demo firmware key (public, in flashing/keys.py): for the demo "
    "club and development; a terminal in a store needs --keys FILE with the club's key"
)

# vafa/cli.py: the statuses of this package's errors (DeviceError's own say 2 for a wrong port)
ERRORS = (
    (provision.ProvisionError, 2),
    (bundles.BundleError, 1),
    (targets.TargetError, 1),
    (installer.InstallError, 1),
    (ModelMismatch, 2),
    (DeviceError, 1),
)


def add_arguments(parser):
    parser.add_argument("--keys", type=types.existing_file("--keys"),
                        help="JSON file of keys (default: TEST ONLY demo keys)")  # fmt: skip
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="compile agent/ into a signed bundle")
    build.add_argument("--out", default=str(BUNDLE_DIR),
                       help=f"the bundle's folder, replaced (default {BUNDLE_DIR})")  # fmt: skip
    build.add_argument(
        "--model",
        default=bundles.DEFAULT_MODEL,
        choices=sorted(bundles.MODELS),
        help=f"terminal model: which drivers go in (default {bundles.DEFAULT_MODEL})",
    )
    prov = sub.add_parser("provision", help="configuration and TR-31 key block per terminal")
    prov.add_argument("--csv", type=types.existing_file("--csv"),
                      help="CSV of terminals (columns: config fields and ikid)")  # fmt: skip
    prov.add_argument("--terminal-number", type=types.whole("--terminal-number", 1, 999_999),
                      default=1, help="demo terminal number")  # fmt: skip
    prov.add_argument("--club-host", default="127.0.0.1", help="the club server's address")
    prov.add_argument("--club-port", type=types.tcp_port("--club-port"), default=8583,
                      help="the club server's port (8583)")  # fmt: skip
    prov.add_argument("--out", default=str(TERMINALS_DIR),
                      help=f"where kit folders go (default {TERMINALS_DIR})")  # fmt: skip
    for name, text in (
        ("install", "copy bundle and configuration onto a device"),
        ("verify", "read the device's file hashes back and compare"),
        ("status", "version, slot state, terminal id and free space"),
        ("rollback", "go back to the bundle installed before the last install"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--port", required=True, help="serial port, pty or socket://HOST:PORT")
        p.add_argument("--target", default="unix", choices=sorted(targets.TARGETS),
                       help="the kind of device (default unix)")  # fmt: skip
        if name in ("install", "verify"):
            p.add_argument("--bundle", help=f"a built bundle's folder (default {BUNDLE_DIR}, "
                                            "built when absent)")  # fmt: skip
            p.add_argument(
                "--model",
                choices=sorted(bundles.MODELS),
                help="the model the bundle must be built for (built if absent)",
            )
        if name == "install":
            p.add_argument("--terminal", type=types.existing_dir("--terminal", "kit folder"),
                           help="a kit folder (config.json, initial_key.tr31)")  # fmt: skip
            p.add_argument("--club-port", type=types.tcp_port("--club-port"), default=8583,
                           help="for the demo kit")  # fmt: skip
            p.add_argument(
                "--reinject-key",
                action="store_true",
                help="send the key block even when the device has a DUKPT state",
            )
            p.add_argument(
                "--change-model",
                action="store_true",
                help="install a bundle of another model than the device runs (new hardware)",
            )
    ports = sub.add_parser("ports", help="list this machine's serial ports (pyserial)")
    ports.add_argument("--json", action="store_true", help="one JSON array on stdout")
    base = sub.add_parser("base-image", help="ESP32: merge a MicroPython firmware (esptool)")
    base.add_argument("--firmware", required=True, type=types.existing_file("--firmware"),
                      help="the board's MicroPython image (ESP32_GENERIC-*.bin)")  # fmt: skip
    base.add_argument("--out", help="the merged image (default: beside --firmware)")
    base.add_argument("--target", default="esp32", choices=sorted(targets.TARGETS),
                      help="the board (default esp32)")  # fmt: skip
    boards = "; ".join(f"{b.name}: {b.description}" for b in firmwares.BOARDS.values())
    fw = sub.add_parser(
        "firmware",
        help="build MicroPython from source with the agent frozen in",
        description=f"Boards: {boards}. Exit 2: bad input or missing toolchain; 1: build failed.",
    )
    # Checked by flashing/firmware.py, not argparse choices: a bad value is one line, exit 2.
    fw.add_argument("--board", metavar="|".join(sorted(firmwares.BOARDS)), help="the board")
    fw.add_argument(
        "--micropython-src",
        metavar="DIR",
        help=f"MicroPython source tree (default: ${firmwares.ENV_SOURCE})",
    )
    fw.add_argument(
        "--model",
        default=bundles.DEFAULT_MODEL,
        metavar="|".join(sorted(bundles.MODELS)),
        help=f"terminal model whose modules are frozen in (default {bundles.DEFAULT_MODEL})",
    )
    fw.add_argument(
        "--out", metavar="DIR", help="cache folder for builds (default ~/.cache/vafa/firmware)"
    )
    fw.add_argument(
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help="extra make variable, part of the cache key (e.g. MICROPY_HEAP_SIZE=65536)",
    )
    fw.add_argument("--rebuild", action="store_true", help="build even when cached")
    fw.add_argument("--json", action="store_true", help="one JSON line; progress to stderr")


def _progress(text):
    print(text, flush=True)


def _compiling():
    """A build progress callback: a line at the start, then at most one a second."""
    last = [None]

    def progress(i, n, name):
        now = time.monotonic()
        if i == n:
            _progress(f"compiled {n} modules")
        elif last[0] is None or now - last[0] >= PROGRESS_S:
            _progress(f"compiling [{i}/{n}] {name}")
            last[0] = now

    return progress


def _build(out, keys, model=bundles.DEFAULT_MODEL):
    bundle = bundles.build(out, keys.firmware, progress=_compiling(), model=model)
    _progress(
        f"bundle {bundle.version} (model {model}): {len(bundle.files)} files, "
        f"{bundle.size} bytes -> {out}"
    )
    if keys.test:
        _progress(TEST_KEY_LINE)
    return bundle


def _given_bundle(args, keys):
    """The bundle of --bundle, checked before any device is opened: it exists, its signature
    holds, it was built for --model (a technician flashing the wrong drivers finds out here).
    None when --bundle was not given and the default one is not built yet: it is built once
    the device answered (_bundle)."""
    path = Path(args.bundle or BUNDLE_DIR)
    model = getattr(args, "model", None)
    if not (path / "manifest.json").exists():
        if args.bundle is None:
            return None
        if not path.exists():
            raise BadInput(f"--bundle {path}: no such folder; build a bundle there with vafa "
                           f"flash build --out {path}", "--bundle")  # fmt: skip
        raise BadInput(f"--bundle {path}: no bundle there (no manifest.json); build one with "
                       f"vafa flash build --out {path}", "--bundle")  # fmt: skip
    try:
        bundle = bundles.Bundle(path).verify(keys.firmware)
    except bundles.BundleError as e:
        raise BadInput(f"--bundle {e}", "--bundle") from None
    built_for = bundle.manifest.get("model")
    if model is not None and built_for != model:
        raise BadInput(f"--bundle {path}: built for model {built_for}, not {model}: vafa flash "
                       f"build --model {model}", "--bundle")  # fmt: skip
    return bundle


def _bundle(args, keys, given, device_model=None):
    """The given bundle, or the default one built now: for --model, else the model the device
    runs, else the default model."""
    if given is not None:
        return given
    model = getattr(args, "model", None) or device_model or bundles.DEFAULT_MODEL
    return _build(BUNDLE_DIR, keys, model)


def _load_keys(path):
    """The keys of --keys, each checked: one line naming the file and the key when wrong."""
    if path is None:
        return load_keys(None)
    try:
        data = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"--keys {path}: not a JSON file ({e})", "--keys") from None
    expected = '{"firmware": HEX, "kbpk": HEX, "bdk": HEX}'
    if not isinstance(data, dict):
        raise BadInput(f"--keys {path}: expected a JSON object {expected}", "--keys")
    sizes = {"firmware": (16, 32, 64), "kbpk": (16, 24, 32), "bdk": (16, 24, 32)}
    for name, allowed in sizes.items():
        value = data.get(name)
        if value is None and name == "bdk":
            continue
        if not isinstance(value, str):
            raise BadInput(f"--keys {path}: no {name!r} key; expected {expected}", "--keys")
        try:
            size = len(bytes.fromhex(value))
        except ValueError:
            size = None
        if size not in allowed:
            digits = ", ".join(str(2 * n) for n in allowed[:-1]) + f" or {2 * allowed[-1]}"
            raise BadInput(f"--keys {path}: {name!r} must be {digits} hex digits", "--keys")
    return load_keys(path)


def run(args):
    keys = _load_keys(args.keys)
    try:
        return ACTIONS[args.action](args, keys)
    except firmwares.FirmwareError as e:
        detail = ["make's last lines:", *("  " + line for line in e.detail)] if e.detail else ()
        raise VafaError(str(e), exit_code=e.exit_code, detail=detail) from None


def do_build(args, keys):
    _build(args.out, keys, args.model)
    return 0


def do_provision(args, keys):
    if args.csv:
        try:
            report = provision.provision_csv(args.csv, args.out, keys)
        except UnicodeDecodeError as e:
            raise BadInput(f"--csv {args.csv}: not UTF-8 text (byte {e.start})", "--csv") from None
        for row in report:
            tail = row["error"] if row["status"] != "ok" else f"ikid {row['ikid']} kcv {row['kcv']}"
            print(f"line {row['line']}: {row['terminal_id'] or '-'} {row['status']}: {tail}")
        bad = sum(r["status"] != "ok" for r in report)
        print(f"{len(report) - bad} provisioned, {bad} refused; report: {args.out}/report.csv")
        return 1 if bad else 0
    kit = provision.demo_kit(keys, args.terminal_number, args.club_host, args.club_port)
    folder = provision.write_kit(kit, Path(args.out) / kit["config"]["terminal_id"])
    print(f"{kit['config']['terminal_id']}: ikid {kit['ikid']} kcv {kit['kcv']} -> {folder}")
    return 0


def _device(args):
    """The device, probed: a wrong, busy or silent port fails here, in about two seconds."""
    device = MpremoteDevice(args.port, targets.get(args.target))
    device.probe()
    return device


def _kit(args, keys):
    """The kit folder of --terminal, its configuration and key block checked (provision.py
    check_kit) before the device is opened: a bad kit stages nothing."""
    kit = args.terminal
    if kit is None:
        return None
    try:
        provision.check_kit(kit, keys.kbpk)
    except provision.ProvisionError as e:
        raise BadInput(f"--terminal {kit}: {e}", "--terminal") from None
    return kit


def _check_model(args, bundle, runs):
    """The bundle's model against `runs`, the model the device runs (its active bundle;
    installer.device_model, None without one): a technician
    who flashes another model's drivers finds out before anything is staged. A device without
    a bundle takes any model; --change-model accepts the change."""
    built_for = bundle.manifest.get("model")
    if runs is None or runs == built_for or args.change_model:
        return runs
    raise ModelMismatch(
        f"the device on {args.port} runs model {runs}, the bundle is built for {built_for}: "
        f"vafa flash build --model {runs} (or --change-model to make it a {built_for} "
        f"terminal)",
        "--bundle",
    )


def do_install(args, keys):
    given = _given_bundle(args, keys)
    kit = _kit(args, keys)
    device = _device(args)
    runs = None if args.change_model else installer.device_model(device)
    bundle = _bundle(args, keys, given, runs)
    _check_model(args, bundle, runs)
    if kit is None:
        made = provision.demo_kit(keys, club_port=args.club_port)
        kit = provision.write_kit(made, TERMINALS_DIR / made["config"]["terminal_id"])
        _progress(f"demo terminal {made['config']['terminal_id']} (TEST ONLY keys): {kit}")
    target = targets.get(args.target)
    done = installer.install(
        device, target, bundle, kit, keys, args.reinject_key, progress=_progress
    )
    print(f"installed {done['version']} in slot {done['slot']} on {args.port}")
    return 0


def do_verify(args, keys):
    given = _given_bundle(args, keys)
    device = _device(args)
    bundle = _bundle(args, keys, given)
    problems, info = installer.verify(device, bundle)
    for line in problems:
        print("MISMATCH", line)
    print(f"{'ok' if not problems else 'FAILED'}: {len(info['files'])} files on the device, "
          f"version {info['version']}, bundle {bundle.version}")  # fmt: skip
    return 1 if problems else 0


def do_status(args, keys):
    info = installer.status(_device(args))
    for name in ("version", "slot", "pending", "previous", "rolled_back", "terminal_id",
                 "free_bytes", "files"):  # fmt: skip
        print(f"{name:12} {info[name]}")
    return 0


def do_rollback(args, keys):
    device = _device(args)
    done = installer.rollback(device)
    print(f"rolled back: slot {done['slot']} ({done['version']}, model {done['model']}) is "
          f"active; slot {done['from']} kept as the previous")  # fmt: skip
    if device.restart():
        print(f"restarted the device on {args.port}: its loader verifies and starts slot "
              f"{done['slot']}")  # fmt: skip
    else:
        print(f"the terminal starts slot {done['slot']} at its next start (a {args.target} "
              f"device is not restarted from here)")  # fmt: skip
    return 0


def port_rows(found):
    """pyserial's ListPortInfo objects -> dicts: device, description, hwid, vid, pid, serial."""
    return [
        {
            "device": port.device,
            "description": None if port.description in (None, "n/a") else port.description,
            "hwid": None if port.hwid in (None, "n/a") else port.hwid,
            "vid": f"{port.vid:04X}" if port.vid is not None else None,
            "pid": f"{port.pid:04X}" if port.pid is not None else None,
            "serial_number": port.serial_number,
        }
        for port in sorted(found, key=lambda p: p.device)
    ]


NO_PORTS = (
    "no serial ports found on this machine: plug the terminal's USB cable in (a pty path or "
    "socket://HOST:PORT is given to --port as it is)"
)


def port_lines(rows):
    """The listing's lines: one a port (device, description, USB ids), or NO_PORTS."""
    if not rows:
        return [NO_PORTS]
    width = max(len(r["device"]) for r in rows)
    return [f"{r['device']:{width}}  {r['description'] or '-'}"
            + (f"  USB {r['vid']}:{r['pid']}" if r["vid"] else "") for r in rows]  # fmt: skip


def do_ports(args, keys):
    from serial.tools import list_ports

    rows = port_rows(list_ports.comports())
    if args.json:
        print(json.dumps(rows))
    else:
        print("\n".join(port_lines(rows)))
    return 0


def do_base_image(args, keys):
    target = targets.get(args.target)
    out = target.base_firmware(args.firmware, args.out)
    print(f"{target.name} image: {out} ({out.stat().st_size} bytes); write it with:")
    for command in target.write_commands("PORT", out)[1:]:
        print("  " + " ".join(command).replace(hex(target.app_offset), "0x0"))
    return 0


def do_firmware(args, keys):
    if not args.board:
        raise firmwares.FirmwareError(
            f"--board is required: one of {', '.join(sorted(firmwares.BOARDS))}"
        )
    board = firmwares.get_board(args.board)
    firmwares.check_model(args.model)
    options = firmwares.parse_options(args.option)
    src = firmwares.find_source(args.micropython_src)
    out = sys.stderr if args.json else sys.stdout
    fw = firmwares.build(
        board,
        src,
        model=args.model,
        cache=args.out,
        options=options,
        progress=lambda text: print(text, file=out, flush=True),
        rebuild=args.rebuild,
    )
    if args.json:
        print(json.dumps(firmwares.as_json(fw)))
    else:
        for line in firmwares.main_lines(fw):
            print(line)
    return 0


ACTIONS = {
    "build": do_build,
    "provision": do_provision,
    "install": do_install,
    "verify": do_verify,
    "status": do_status,
    "rollback": do_rollback,
    "ports": do_ports,
    "base-image": do_base_image,
    "firmware": do_firmware,
}
