"""argparse types that speak the user's terms: each checks one value and, when it is wrong,
raises argparse.ArgumentTypeError with a sentence naming the input and what is expected, which
the boundary in vafa/cli.py prints as one line with exit status 2.

    p.add_argument("amount", type=whole("amount", low=1, unit="rials"))
    p.add_argument("--csv", type=existing_file("--csv"))

The sentence starts with the input's name, so the boundary drops argparse's "argument X:".

>>> whole("amount", low=1, unit="rials")("-5")
Traceback (most recent call last):
argparse.ArgumentTypeError: amount must be a positive whole number of rials, not '-5'
>>> hostport("--vpcd")("localhost")
Traceback (most recent call last):
argparse.ArgumentTypeError: --vpcd 'localhost': expected HOST:PORT, e.g. 127.0.0.1:8583
"""

import argparse
import binascii
import datetime as dt
import os
from pathlib import Path


def _fail(text):
    raise argparse.ArgumentTypeError(text)


def _range_words(kind, low, high, unit):
    unit = f" of {unit}" if unit else ""
    if low == 1 and high is None:
        return f"a positive {kind}{unit}"
    if low == 0 and high is None:
        return f"a {kind}{unit} of 0 or more"
    if high is None:
        return f"a {kind}{unit} of {low:g} or more"
    if low is None:
        return f"a {kind}{unit} of at most {high:g}"
    return f"a {kind}{unit} from {low:g} to {high:g}"


def whole(name, low=None, high=None, unit=""):
    """An int in low..high (either end may be None)."""
    words = _range_words("whole number", low, high, unit)

    def parse(text):
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if (
            value is None
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            _fail(f"{name} must be {words}, not {text!r}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its own messages
    return parse


def number(name, low=None, high=None, unit="", above=None):
    """A finite float in low..high; `above`: strictly greater than it (a timeout above 0)."""
    if above is not None:
        words = f"a number{' of ' + unit if unit else ''} above {above:g}"
    else:
        words = _range_words("number", low, high, unit)

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = None
        bad = value is None or value != value or value in (float("inf"), float("-inf"))
        bad = bad or (low is not None and value < low) or (high is not None and value > high)
        bad = bad or (above is not None and value <= above)
        if bad:
            _fail(f"{name} must be {words}, not {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def tcp_port(name, allow_zero=False):
    """A TCP port number: 1..65535 (0 too when `allow_zero`: any free port)."""
    return whole(name, low=0 if allow_zero else 1, high=65535)


def hostport(name, example="127.0.0.1:8583"):
    """HOST:PORT ([IPv6]:PORT; no host: this machine) -> (host, port)."""

    def parse(text):
        host, colon, port = text.strip().rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
            _fail(f"{name} {text!r}: expected HOST:PORT, e.g. {example}")
        if any(c.isspace() for c in host):
            _fail(f"{name} {text!r}: a host name has no spaces")
        return host or "127.0.0.1", int(port)

    parse.__name__ = "HOST:PORT"
    return parse


def existing_file(name, what="file"):
    """A path to a readable file (a Path)."""

    def parse(text):
        path = Path(text)
        if not path.exists():
            _fail(f"{name} {text}: no such {what}")
        if path.is_dir():
            _fail(f"{name} {text}: a folder, not a {what}")
        if not os.access(path, os.R_OK):
            _fail(f"{name} {text}: no permission to read it")
        return path

    parse.__name__ = what
    return parse


def existing_dir(name, what="folder"):
    """A path to a folder that exists (a Path)."""

    def parse(text):
        path = Path(text)
        if not path.exists():
            _fail(f"{name} {text}: no such {what}")
        if not path.is_dir():
            _fail(f"{name} {text}: not a folder")
        return path

    parse.__name__ = what
    return parse


def hex_bytes(name, size):
    """`size` bytes written as 2*size hex digits -> bytes."""

    def parse(text):
        try:
            value = binascii.unhexlify(text.strip())
        except (binascii.Error, ValueError):
            value = None
        if value is None or len(value) != size:
            _fail(f"{name} must be {2 * size} hex digits ({size} bytes), not {text!r}")
        return value

    parse.__name__ = "hex"
    return parse


def iso_date(name):
    """YYYY-MM-DD -> datetime.date."""

    def parse(text):
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            _fail(f"{name} {text!r}: not a date; expected YYYY-MM-DD, e.g. 2024-03-20")

    parse.__name__ = "date"
    return parse


def text(name, low=1, high=None, printable=False):
    """A string of low..high characters (printable ASCII when `printable`)."""

    def parse(value):
        size = len(value)
        ok = low <= size and (high is None or size <= high)
        if printable:
            ok = ok and all(0x20 <= ord(c) <= 0x7E for c in value)
        if not ok:
            kind = "printable ASCII characters" if printable else "characters"
            span = f"{low} to {high}" if high is not None else f"at least {low}"
            _fail(f"{name} must be {span} {kind}, not {value!r}")
        return value

    parse.__name__ = "text"
    return parse


def parsed(name, parse, what="value", echo=True):
    """parse(text), whose ValueError's sentence becomes the answer, naming the input (`echo`
    False: the text is not repeated back, e.g. digits that may be a whole card number)."""

    def check(value):
        try:
            return parse(value)
        except ValueError as e:
            shown = f" {value!r}" if echo else ""
            _fail(f"{name}{shown}: {e}")

    check.__name__ = what  # argparse names the type by it when it has no sentence
    return check
