"""Firmware in the loop: the flashed bundle under the unix MicroPython, its peripherals as bytes.

    with FirmwareTerminal(root, club.port, bundle) as t:      # installs, boots, serves ECR
        t.card.insert(make_card("active"))                      # vpcd: the card connects
        r = t.ecr.sale(20000, invoice="1", cashier="01", method="club_credit")
        t.screens.take()       # LCD screens decoded from the HD44780 byte stream
        t.receipts()           # receipts decoded from the ESC/POS bytes

docs/flashing.md "Firmware in the loop" has the byte formats; simulator/fil/endpoints.py the
host's side of each peripheral; simulator/fil/terminal.py the device process.
"""

from simulator.fil.endpoints import KeypadEndpoint, LcdEndpoint, PrinterEndpoint
from simulator.fil.terminal import HEAP, FirmwareTerminal, firmware_factory

# --firmware BOARD: a firmware built from the MicroPython source, run on an emulated board
# (simulator/fil/qemu.py); any other --firmware is a bundle folder (vafa flash build)
BOARDS = ("mps2-an385",)


def check_board(name):
    """None when scenarios can run on board `name`, else why not (one line): the MicroPython
    source (VAFA_MICROPYTHON_SRC) and qemu-system-arm are needed."""
    import os
    import shutil

    from flashing import firmware

    if not os.environ.get(firmware.ENV_SOURCE):
        return (
            f"no MicroPython source to build its firmware: set {firmware.ENV_SOURCE} to a "
            f"checkout of commit {firmware.PINNED_COMMIT[:12]} (docs/flashing.md)"
        )
    try:
        firmware.find_source()
    except firmware.FirmwareError as e:
        return str(e)
    if shutil.which("qemu-system-arm") is None:
        return "qemu-system-arm not found (Debian package qemu-system-arm)"
    return None


def board_factory(name, progress=None):
    """The scenario runner's terminal factory for an emulated board: its firmware is built
    (or found in the cache) first."""
    from simulator.fil.qemu import firmware_path, qemu_factory

    return qemu_factory(firmware_path(progress=progress))


__all__ = [
    "BOARDS",
    "HEAP",
    "FirmwareTerminal",
    "KeypadEndpoint",
    "LcdEndpoint",
    "PrinterEndpoint",
    "board_factory",
    "check_board",
    "firmware_factory",
]
