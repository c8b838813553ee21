"""The one error root of agent.protocol: every failure of the club link is a ProtocolError.

Decoding any bytes at all raises only ProtocolError (or a subclass). Errors say where:
`field` is the ISO 8583 field number ("t" for the MTI, "bitmap" for a bitmap, None when not
field-specific) and `offset` the byte offset in the input where the problem starts.
"""


class ProtocolError(ValueError):
    def __init__(self, message, field=None, offset=None):
        where = []
        if field is not None:
            where.append(f"field {field}")
        if offset is not None:
            where.append(f"offset {offset}")
        if where:
            message = f"{message} ({', '.join(where)})"
        super().__init__(message)
        self.field = field
        self.offset = offset


class DecodeError(ProtocolError):
    """Bytes that are not a valid message under the spec."""


class EncodeError(ProtocolError):
    """A message value that the spec cannot carry."""


class FramingError(ProtocolError):
    """A TCP frame whose 2-byte length prefix is wrong or whose body is cut short."""


class CryptoError(ProtocolError):
    """A key, IV or block of the wrong size, or a MAC that does not verify."""


class MacError(CryptoError):
    """A message authentication code that does not match."""


class DukptError(CryptoError):
    """A KSN the device may not use: out of range, too many one-bits, or past the last."""
