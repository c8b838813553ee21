"""The terminal side of the club link (docs/protocol.md): protect, send, match, verify.

ClubClient sends one request over a ClubLink port (agent/ports.py) and returns the matching,
MAC-verified response as a Reply. It adds field 42 (merchant id) and field 62's terminal id,
takes a fresh DUKPT key for every message it sends (TerminalDukpt saves the advanced counter
before handing out the key) and never sends the same KSN twice.

Matching (docs/protocol.md section 6): a response belongs to the request with the same MTI pair,
STAN and KSN. Anything else that arrives in the window (a late answer to an earlier request, a
frame that does not decode) is discarded and the rest of the window is waited out; a response
whose MAC fails counts as no response. No response at all raises NoResponse, whose reason is
"MC" when a response with a bad MAC was seen, else "TO".

request() repeats a request that got no response as its repeat MTI (0100 -> 0101, same STAN,
same field 7, same content, new KSN: the status inquiry of section 5.7) up to `repeats` times.
"""

import binascii

from agent.links import LinkDown, LinkTimeout
from agent.numbers import to_int
from agent.protocol import messages as m
from agent.protocol import protect
from agent.protocol.errors import CryptoError, MacError, ProtocolError
from agent.protocol.tlv import decode_amounts, decode_tlv, tlv_text
from agent.storage import RESERVE
from agent.timeutil import TEHRAN_OFFSET_S, local_fields, transmission

TIMEOUT_MS = 10000  # docs/protocol.md section 1: response timer
REPEATS = 1  # repeats (0101) of a 0100 that got no response, before the caller reverses


class NoResponse(Exception):
    """No matching, verified, final response. reason: "TO" (timeout or broken link), "MC" (a
    response came but its MAC failed) or "NF" (verified answers came, none of them final:
    `code` is the last one's field 39). sent: False only when the request never left the
    terminal."""

    def __init__(self, reason, sent=True, code=None):
        super().__init__(f"no response ({reason})")
        self.reason = reason
        self.sent = sent
        self.code = code


class _Foreign(Exception):
    """A response under another KSN than the request's: not ours (late or misrouted)."""


class Reply:
    """A verified response: the message dict, and fields 48 and 54 decoded."""

    def __init__(self, message):
        self.message = message
        self.rc = message.get("39")
        self.rrn = message.get("37")
        self.tlv = decode_tlv(message.get("48", b""))
        self.amounts = decode_amounts(message.get("54", ""))

    def text(self, tag, default=None):
        return tlv_text(self.tlv, tag, default)

    def number(self, tag):
        """The tag's value as an int when it is ASCII digits, else None (agent/numbers.py)."""
        return to_int(self.text(tag))


class StanCounter:
    """STANs 000001..999999, then 000001 again, never handed out twice, also across a restart.

    The blob holds the end of a reserved block (6 ASCII digits): every STAN up to it may have
    been handed out, none after it. When the STANs in RAM reach that end, the next `reserve`
    are reserved by one atomic write before the first of them is returned; a restart resumes
    after the reserved end, skipping what was left of the block. reserve: the storage's (see
    agent/storage.py), 1 = every STAN saved as before (a blob of an earlier version, the last
    STAN handed out, reads as a block that ends there).
    """

    def __init__(self, storage, name="stan", reserve=None):
        self.storage = storage
        self.name = name
        self.reserve = reserve or getattr(storage, "reserve", RESERVE)
        self._last = None  # the last STAN handed out (after loading: the reserved end)
        self._end = None  # the reserved end on storage

    def _load(self):
        raw = self.storage.read(self.name)
        try:
            return int(raw) if raw else 0
        except ValueError:
            return 0  # a blob cut short on first write (see agent/storage.py)

    @property
    def last(self):
        """The last STAN handed out, 6 digits; before the first one after a restart, the end
        of the block reserved before it (every STAN handed out from now on comes after it)."""
        if self._last is None:
            self._last = self._end = self._load()
        return f"{self._last:06d}"

    def next(self):
        if self._last is None:
            self._last = self._end = self._load()
        stan = self._last % 999999 + 1
        if self._last == self._end:
            end = (self._last + self.reserve - 1) % 999999 + 1
            self.storage.write_atomic(self.name, b"%06d" % end)
            self._end = end
        self._last = stan
        return f"{stan:06d}"


def stamp(message, now, offset_s=TEHRAN_OFFSET_S):
    """Set fields 7 (UTC) and 12/13 (local) from UTC seconds; returns the message."""
    message["7"] = transmission(now)
    message["12"], message["13"] = local_fields(now, offset_s)
    return message


class ClubClient:
    def __init__(
        self,
        link,
        dukpt,
        clock,
        terminal_id,
        merchant_id,
        timeout_ms=TIMEOUT_MS,
        repeats=REPEATS,
    ):
        if len(terminal_id) != 8:
            raise ValueError("terminal id is 8 characters")
        if len(merchant_id) > 15:
            raise ValueError("merchant id is at most 15 characters")
        self.link = link
        self.dukpt = dukpt
        self.clock = clock
        self.terminal_id = terminal_id
        self.merchant_id = f"{merchant_id:<15}"
        self.timeout_ms = timeout_ms
        self.repeats = repeats
        # What the window saw besides the answer: late/foreign responses, bad MACs, garbage.
        self.stats = {"late": 0, "mac": 0, "garbage": 0, "sent": 0, "not_final": 0}

    def request(
        self, message, pan=None, expiry=None, repeats=None, final=None, pin=None, new_pin=None
    ):
        """Send and repeat (as 0101, 0221, ...) until a matching response; NoResponse after
        1 + repeats attempts.

        final: the field 39 codes that close this request (m.FINAL_0110 for a request that may
        move money); an answer with another code is not taken: the request is repeated, and
        NoResponse("NF") raised when no attempt got a final answer.

        pin: the cardholder's clear PIN field (agent/protocol/pinblock.pin_field), RAM only:
        every attempt enciphers it into field 52 under its own KSN's PIN key, so a repeat
        carries the same PIN (same content) in a different block. new_pin: a PIN change's
        new PIN field, the same way into field 62 tag 04.
        """
        repeats = self.repeats if repeats is None else repeats
        sent = False
        mac_failed = False
        not_final = None
        for _ in range(1 + repeats):
            attempt = message
            if sent:
                attempt = dict(message)
                attempt["t"] = m.REPEAT_MTI.get(message["t"], message["t"])
            try:
                reply = self.exchange_once(attempt, pan, expiry, pin, new_pin)
            except NoResponse as e:
                sent = sent or e.sent
                mac_failed = mac_failed or e.reason == "MC"
                continue
            if final is None or reply.rc in final:
                return reply
            sent = True
            not_final = reply.rc
            self.stats["not_final"] += 1
        if not_final is not None:
            raise NoResponse("NF", sent=True, code=not_final)
        raise NoResponse("MC" if mac_failed else "TO", sent=sent)

    def exchange_once(self, message, pan=None, expiry=None, pin=None, new_pin=None):
        """One message with a fresh KSN, and its response; NoResponse when none matches."""
        keys = self.dukpt.next_keys()  # the advanced counter is on storage before we go on
        out = dict(message)
        out["42"] = self.merchant_id
        if pin is not None:
            from agent.protocol import pinblock  # only for a PIN payment (heap)

            out["52"] = pinblock.encipher(keys.pin, pin, pan)
        secrets = {m.SECRET_TERMINAL_ID: self.terminal_id}
        if pan:
            secrets[m.SECRET_CARD_NUMBER] = pan
        if expiry:
            secrets[m.SECRET_CARD_EXPIRY] = expiry
        if new_pin is not None:
            from agent.protocol import pinblock

            block = pinblock.encipher(keys.pin, new_pin, pan)
            secrets[m.SECRET_NEW_PIN] = binascii.hexlify(block).decode().upper()
        data = protect.seal(out, keys, protect.REQUEST, secrets)
        expected = m.RESPONSE_MTI[out["t"]]
        stan = out.get("11")
        mac_failed = False
        start = self.clock.ticks_ms()
        self.stats["sent"] += 1
        try:
            raw = self.link.exchange(data, self.timeout_ms)
            while True:
                try:
                    reply = self._match(raw, keys, expected, stan)
                except MacError:
                    self.stats["mac"] += 1
                    mac_failed = True
                    reply = None
                if reply is not None:
                    return reply
                remaining = self.timeout_ms - (self.clock.ticks_ms() - start)
                if remaining <= 0:
                    raise LinkTimeout("window over")
                raw = self.link.receive(remaining)
        except LinkTimeout:
            raise NoResponse("MC" if mac_failed else "TO", sent=True)
        except LinkDown as e:
            raise NoResponse("MC" if mac_failed else "TO", sent=e.sent)

    def _match(self, raw, keys, expected, stan):
        """The Reply when `raw` answers this request; None to discard it; MacError when it is
        under our KSN but its MAC fails."""

        def keys_for(ksn):
            if ksn != keys.ksn:
                raise _Foreign()
            return keys

        try:
            message = protect.open_sealed(raw, keys_for, protect.RESPONSE)[0]
        except _Foreign:
            self.stats["late"] += 1
            return None
        except MacError:
            raise
        except CryptoError:
            raise MacError("protected data does not decrypt")
        except ProtocolError:
            self.stats["garbage"] += 1
            return None
        if message["t"] != expected or message.get("11") != stan or "39" not in message:
            self.stats["late"] += 1
            return None
        try:
            return Reply(message)
        except ProtocolError:
            self.stats["garbage"] += 1
            return None
