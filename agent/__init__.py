"""Vafa agent: the terminal side of the club. Runs under MicroPython and CPython.

The core (codecs, crypto, transaction logic, layout) never imports I/O; ports are handed in.
"""
