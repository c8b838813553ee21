"""The one error root of hostbridge: everything it raises on purpose is a BridgeError.

    BridgeError (Exception)
        FrameError (ValueError)      bytes that are not one intact frame (docs/ecr.md section 2)
        MessageError (ValueError)    a frame whose payload is not a message (section 3), or a
                                     value the protocol cannot carry
        LinkError (OSError)          the port cannot be opened, or broke
            PortError                the port cannot be opened: nothing was sent
            NoAck                    a frame sent `tries` times without an ACK (section 4)
            ResponseTimeout (TimeoutError)  no answer within the command's response timer
        WedgeError (OSError)         the keyboard wedge cannot type (no X display, no pynput)

Decoders raise only FrameError and MessageError, whatever the bytes; `offset` says where in the
input, `path` is construct's path of the field at fault when construct found it.

A LinkError's `sent` tells the two cases a cashier must not confuse apart: False, the command
never left (the port could not be opened, or broke before the frame was written whole): it
did not happen and may be sent again; True, it went out and no answer came: it may have run,
so its invoice's status must be asked before anything is sent again (docs/ecr.md section 7).
"""


class BridgeError(Exception):
    pass


class _Where:
    def __init__(self, message, offset=None, path=None):
        where = []
        if path:
            where.append(path)
        if offset is not None:
            where.append(f"offset {offset}")
        if where:
            message = f"{message} ({', '.join(where)})"
        super().__init__(message)
        self.offset = offset
        self.path = path


class FrameError(_Where, BridgeError, ValueError):
    """Bytes that are not one intact frame."""


class MessageError(_Where, BridgeError, ValueError):
    """A payload that is not a message, or a message that cannot be built."""


class LinkError(BridgeError, OSError):
    """The port could not be opened, or the connection broke."""

    sent = None  # True: the command went out; False: it never left; None: not a command's

    def __init__(self, *args, sent=None):
        super().__init__(*args)
        if sent is not None:
            self.sent = sent


class PortError(LinkError):
    """The port cannot be opened (no such device, nothing listening, no permission): nothing
    was sent. The message names the port and the cause."""

    sent = False


class NoAck(LinkError):
    """A frame went out `tries` times and no ACK came back."""

    sent = True


class ResponseTimeout(LinkError, TimeoutError):
    """The terminal acknowledged the command but did not answer within its timer."""

    sent = True


class WedgeError(BridgeError, OSError):
    """The keyboard wedge could not type (no X display, pynput missing)."""
