"""Receipts for ESC/POS printers: layout model, Persian shaping and reordering, code pages.

Pure and MicroPython-compatible: bytes out, no I/O (docs/receipts.md).
"""
