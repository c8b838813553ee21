"""The APDU layer (ISO/IEC 7816-4 5.1): build commands, split responses, and one `transmit()`
that traces and checks status words over any reader's inner hook.

    channel = ApduChannel(reader, trace=lines.append)
    fci = channel.transmit(command(0x00, 0xA4, 0x04, 0x00, AID, 0x00), "SELECT")

pyscard's template: the public transmit() here is the same for every reader; a reader
(agent/card_io/reader.py) implements only `transmit(apdu_bytes) -> response_bytes`. Status
words go through the tables of agent/card_io/sw.py. Traces never show a card number: any run of
12 or more decimal digits in a trace line (a BCD card number in hex is one) is cut to its last
4 digits (mask_digits).
"""

import binascii

from agent.card_io import sw as swt
from agent.card_io.errors import CardError, CardProtocolError, ReaderError

INS_GET_RESPONSE = 0xC0
MAX_CHAINED = 32  # GET RESPONSE rounds before the card is called broken


def hexu(data):
    return binascii.hexlify(bytes(data)).decode().upper()


def command(cla, ins, p1, p2, data=None, le=None):
    """A short APDU: header, then Lc and data when there is data, then Le when given (0..256,
    256 written as 00). Cases 1 to 4 of ISO 7816-3 12.1."""
    for name, value in (("CLA", cla), ("INS", ins), ("P1", p1), ("P2", p2)):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"{name} {value} is not a byte")
    out = bytes([cla, ins, p1, p2])
    if data:
        if len(data) > 255:
            raise ValueError(f"command data of {len(data)} bytes needs extended length")
        out += bytes([len(data)]) + bytes(data)
    if le is not None:
        if not 0 <= le <= 256:
            raise ValueError(f"Le {le} out of range 0..256")
        out += bytes([le & 0xFF])
    return out


def parse_response(raw):
    """(data, sw) of a response APDU; CardProtocolError when it has no status word."""
    if raw is None or len(raw) < 2:
        n = 0 if raw is None else len(raw)
        raise CardProtocolError(f"response of {n} bytes has no status word")
    raw = bytes(raw)
    return raw[:-2], (raw[-2] << 8) | raw[-1]


def describe_command(apdu):
    """A command APDU for a trace: header, Lc, data and Le apart ("00A40400 06 F05641464101 00")."""
    apdu = bytes(apdu)
    parts = [hexu(apdu[:4])]
    rest = apdu[4:]
    if len(rest) > 1 and rest[0] and len(rest) >= 1 + rest[0]:
        lc = rest[0]
        parts.append(hexu(rest[:1]))
        parts.append(hexu(rest[1 : 1 + lc]))
        rest = rest[1 + lc :]
    if rest:
        parts.append(hexu(rest))
    return " ".join(parts)


def mask_digits(text, keep=4, run=12):
    """Every run of `run` or more decimal digits cut to stars and its last `keep` digits.

    >>> mask_digits("5A089879110000000014 9000")
    '5A**************0014 9000'
    """
    out = []
    i = 0
    n = len(text)
    while i < n:
        if "0" <= text[i] <= "9":
            j = i
            while j < n and "0" <= text[j] <= "9":
                j += 1
            if j - i >= run:
                out.append("*" * (j - i - keep) + text[j - keep : j])
            else:
                out.append(text[i:j])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


class ApduChannel:
    """transmit() with tracing and status-word checks over a reader's inner hook."""

    def __init__(self, reader, trace=None):
        self.reader = reader
        self.trace = trace

    def _log(self, line):
        if self.trace is not None:
            self.trace(mask_digits(line))

    def _raw(self, apdu, name):
        self._log(f"> {name or 'APDU'} {describe_command(apdu)}")
        try:
            raw = self.reader.transmit(bytes(apdu))
        except CardError:
            raise
        except OSError as e:  # an adapter that let an I/O error through
            raise ReaderError(f"reader I/O error: {e}", command=name)
        data, sw = parse_response(raw)
        self._log(f"< {sw:04X} {hexu(data)}".rstrip())
        return data, sw

    def exchange(self, apdu, name=None):
        """(data, sw) without checking the status word; 61xx and 6Cxx are handled (T=0)."""
        data, sw = self._raw(apdu, name)
        if sw >> 8 == swt.SW1_WRONG_LE and len(apdu) >= 5:
            data, sw = self._raw(bytes(apdu[:-1]) + bytes([sw & 0xFF]), name)
        rounds = 0
        while sw >> 8 == swt.SW1_MORE_DATA:
            rounds += 1
            if rounds > MAX_CHAINED:
                raise CardProtocolError("endless GET RESPONSE chain", sw=sw, command=name)
            get = command(apdu[0], INS_GET_RESPONSE, 0, 0, None, sw & 0xFF or 256)
            more, sw = self._raw(get, "GET RESPONSE")
            data += more
        return data, sw

    def transmit(self, apdu, name=None):
        """The response data; raises the CardError of agent/card_io/sw.py unless SW is 9000."""
        data, sw = self.exchange(apdu, name)
        swt.check(sw, name)
        return data
