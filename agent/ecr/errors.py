"""The one error root of agent.ecr: every failure to read or write the ECR link is an EcrError.

Decoding any bytes at all raises only EcrError subclasses. Errors say where: `offset` is the
byte offset in the input (the frame, or the payload) where the problem starts, `tag` the TLV tag
(an int) when one field is at fault.

    EcrError (ValueError)
        FrameError      bytes that are not a frame: STX, length, ETX or CRC wrong, or cut short
        MessageError    a good frame whose payload is not a message: TLV cut short, a tag
                        repeated, a value of the wrong type or size
        EncodeError     a value that the protocol cannot carry
"""


class EcrError(ValueError):
    def __init__(self, message, offset=None, tag=None):
        where = []
        if tag is not None:
            where.append(f"tag {tag:02X}")
        if offset is not None:
            where.append(f"offset {offset}")
        if where:
            message = f"{message} ({', '.join(where)})"
        super().__init__(message)
        self.offset = offset
        self.tag = tag


class FrameError(EcrError):
    """Bytes that are not one whole, intact frame."""


class MessageError(EcrError):
    """A frame whose payload does not follow docs/ecr.md section 3."""


class EncodeError(EcrError):
    """A message the protocol cannot carry (unknown field, value out of range, too long)."""
