"""The one error root of hostbridge: everything it raises on purpose is a BridgeError.

    BridgeError (Exception)
        FrameError (ValueError)      bytes that are not one intact frame (docs/ecr.md section 2)
        MessageError (ValueError)    a frame whose payload is not a message (section 3), or a
                                     value the protocol cannot carry
        LinkError (OSError)          the port cannot be opened, or broke
            NoAck                    a frame sent `tries` times without an ACK (section 4)
            ResponseTimeout (TimeoutError)  no answer within the command's response timer
        WedgeError (OSError)         the keyboard wedge cannot type (no X display, no pynput)

Decoders raise only FrameError and MessageError, whatever the bytes; `offset` says where in the
input, `path` is construct's path of the field at fault when construct found it.
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


class NoAck(LinkError):
    """A frame went out `tries` times and no ACK came back."""


class ResponseTimeout(LinkError, TimeoutError):
    """The terminal acknowledged the command but did not answer within its timer."""


class WedgeError(BridgeError, OSError):
    """The keyboard wedge could not type (no X display, pynput missing)."""
