"""Link adapters (club link over TCP, ...) and the errors every link raises.

This package's __init__ imports no I/O: the engine imports the errors from here, and only an
entry point imports an adapter module (agent/links/tcp.py needs `socket`).
"""


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
