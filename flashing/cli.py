"""`vafa flash`: build the firmware bundle, provision terminals, install on a device, check it.

    vafa flash build [--model vafa-t1|full]        # var/flash/bundle (TEST ONLY demo key)
    vafa flash provision [--csv terminals.csv]     # kits under var/flash/terminals
    vafa flash install --port PORT [--target unix|esp32] [--terminal DIR]
    vafa flash verify --port PORT
    vafa flash status --port PORT
    vafa flash base-image --firmware ESP32_GENERIC.bin [--out merged.bin]   # esptool merge-bin
    vafa flash firmware --board unix-x86|mps2-an385 [--micropython-src DIR] [--model M] [--out DIR]

Without --terminal, install provisions and installs the demo club's terminal 1; without a
built bundle it builds one first. --model names the terminal model whose drivers the bundle
carries (flashing/bundle.py MODELS; default vafa-t1); install and verify refuse a bundle built
for another model than the one asked for. --keys FILE replaces the TEST ONLY demo keys
(flashing/keys.py). `firmware` builds MicroPython from source with the model's modules frozen
in (flashing/firmware.py; the source from --micropython-src or VAFA_MICROPYTHON_SRC).
"""

import json
import sys
from pathlib import Path

from flashing import bundle as bundles
from flashing import firmware as firmwares
from flashing import install as installer
from flashing import provision, targets
from flashing.device import DeviceError, MpremoteDevice
from flashing.keys import load_keys

BUNDLE_DIR = Path("var/flash/bundle")
TERMINALS_DIR = Path("var/flash/terminals")


def add_arguments(parser):
    parser.add_argument("--keys", help="JSON file of keys (default: TEST ONLY demo keys)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="compile agent/ into a signed bundle")
    build.add_argument("--out", default=str(BUNDLE_DIR))
    build.add_argument(
        "--model",
        default=bundles.DEFAULT_MODEL,
        choices=sorted(bundles.MODELS),
        help=f"terminal model: which drivers go in (default {bundles.DEFAULT_MODEL})",
    )
    prov = sub.add_parser("provision", help="configuration and TR-31 key block per terminal")
    prov.add_argument("--csv", help="CSV of terminals (columns: config fields and ikid)")
    prov.add_argument("--terminal-number", type=int, default=1, help="demo terminal number")
    prov.add_argument("--club-host", default="127.0.0.1")
    prov.add_argument("--club-port", type=int, default=8583)
    prov.add_argument("--out", default=str(TERMINALS_DIR))
    for name, text in (
        ("install", "copy bundle and configuration onto a device"),
        ("verify", "read the device's file hashes back and compare"),
        ("status", "version, slot state, terminal id and free space"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--port", required=True, help="serial port, pty or socket://HOST:PORT")
        p.add_argument("--target", default="unix", choices=sorted(targets.TARGETS))
        p.add_argument("--bundle", default=str(BUNDLE_DIR))
        if name != "status":
            p.add_argument(
                "--model",
                choices=sorted(bundles.MODELS),
                help="the model the bundle must be built for (built if absent)",
            )
        if name == "install":
            p.add_argument("--terminal", help="a kit folder (config.json, initial_key.tr31)")
            p.add_argument("--club-port", type=int, default=8583, help="for the demo kit")
            p.add_argument(
                "--reinject-key",
                action="store_true",
                help="send the key block even when the device has a DUKPT state",
            )
    base = sub.add_parser("base-image", help="ESP32: merge a MicroPython firmware (esptool)")
    base.add_argument("--firmware", required=True)
    base.add_argument("--out")
    base.add_argument("--target", default="esp32", choices=sorted(targets.TARGETS))
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


def _build(out, keys, model=bundles.DEFAULT_MODEL):
    bundle = bundles.build(
        out,
        keys.firmware,
        progress=lambda i, n, name: i == n and _progress(f"compiled {n} modules"),
        model=model,
    )
    _progress(
        f"bundle {bundle.version} (model {model}): {len(bundle.files)} files, "
        f"{bundle.size} bytes -> {out}"
    )
    return bundle


def _bundle(path, keys, model=None):
    """The bundle at path, built first when absent; BundleError when it was built for another
    model than the one asked for (a technician flashing the wrong drivers finds out here)."""
    if not (Path(path) / "manifest.json").exists():
        return _build(path, keys, model or bundles.DEFAULT_MODEL)
    bundle = bundles.Bundle(path).verify(keys.firmware)
    built_for = bundle.manifest.get("model")
    if model is not None and built_for != model:
        raise bundles.BundleError(
            path, f"built for model {built_for}, not {model}: vafa flash build --model {model}"
        )
    return bundle


def run(args):
    keys = load_keys(args.keys)
    try:
        return ACTIONS[args.action](args, keys)
    except (bundles.BundleError, provision.ProvisionError, targets.TargetError, DeviceError,
            installer.InstallError) as e:  # fmt: skip
        print(f"vafa flash {args.action}: {e}", file=sys.stderr)
        return 1
    except firmwares.FirmwareError as e:
        print(f"vafa flash {args.action}: {e}", file=sys.stderr)
        if e.detail:
            print("make's last lines:", *("  " + line for line in e.detail), sep="\n",
                  file=sys.stderr)  # fmt: skip
        return e.exit_code


def do_build(args, keys):
    _build(args.out, keys, args.model)
    return 0


def do_provision(args, keys):
    if args.csv:
        report = provision.provision_csv(args.csv, args.out, keys)
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
    return MpremoteDevice(args.port, targets.get(args.target))


def do_install(args, keys):
    bundle = _bundle(args.bundle, keys, args.model)
    kit = args.terminal
    if kit is None:
        made = provision.demo_kit(keys, club_port=args.club_port)
        kit = provision.write_kit(made, TERMINALS_DIR / made["config"]["terminal_id"])
        _progress(f"demo terminal {made['config']['terminal_id']} (TEST ONLY keys): {kit}")
    target = targets.get(args.target)
    done = installer.install(
        _device(args), target, bundle, kit, keys, args.reinject_key, progress=_progress
    )
    print(f"installed {done['version']} in slot {done['slot']} on {args.port}")
    return 0


def do_verify(args, keys):
    bundle = _bundle(args.bundle, keys, args.model)
    problems, info = installer.verify(_device(args), bundle)
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
    "base-image": do_base_image,
    "firmware": do_firmware,
}
