"""Link adapters (club link over TCP, ...) and the errors every link raises.

This package's __init__ imports no I/O: the engine imports the errors from here, and only an
entry point imports an adapter module (agent/links/tcp.py needs `socket`).
"""

import time


def close_quietly(conn):
    """conn.close() when there is a conn; the OSError of one already gone is no news."""
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


def ticks_ms():
    """A millisecond clock for link timers: time.ticks_ms on MicroPython, monotonic on CPython."""
    ticks = getattr(time, "ticks_ms", None)
    if ticks is not None:
        return ticks()
    return int(time.monotonic() * 1000)


def elapsed_ms(start):
    """Milliseconds since ticks_ms() returned start (wrap-safe on MicroPython)."""
    diff = getattr(time, "ticks_diff", None)
    now = ticks_ms()
    return diff(now, start) if diff is not None else now - start


class LinkError(OSError):
    """A link could not carry a message. `sent` is False only when the request certainly did not
    leave the terminal (connect failed), True when it may have reached the other side."""

    def __init__(self, message, sent=True):
        super().__init__(message)
        self.sent = sent


class LinkTimeout(LinkError):
    """Nothing arrived within the window."""


class LinkDown(LinkError):
    """The connection could not be made, or it broke."""
