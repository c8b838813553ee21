"""Loopback ports for tests."""

import socket


def closed_port():
    """A loopback TCP port nobody listens on: bound, read and closed (the kernel hands it out
    again only after cycling through the others, so a test connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
