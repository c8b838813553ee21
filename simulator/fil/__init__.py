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

__all__ = [
    "HEAP",
    "FirmwareTerminal",
    "KeypadEndpoint",
    "LcdEndpoint",
    "PrinterEndpoint",
    "firmware_factory",
]
