"""A small terminal for the tests, built from the agent's side of the club link.

It encodes with agent.protocol.iso8583, protects with agent.protocol.protect (seal and
open_sealed), frames with agent.protocol.framing and derives keys with agent.protocol.dukpt,
while the server decodes with pyiso8583 and protects with its own code: every exchange is an
interoperability test of the two implementations.
"""

import datetime as dt
import socket
import weakref
from typing import ClassVar

from agent.protocol import dukpt, framing, protect
from agent.protocol.messages import (
    RESPONSE_MTI,
    SECRET_CARD_EXPIRY,
    SECRET_CARD_NUMBER,
    SECRET_TERMINAL_ID,
)
from agent.protocol.tlv import decode_amounts, decode_tlv, encode_tlv

TEST_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


class Closed(Exception):
    """The server closed the connection without (a further) answer."""


class Response:
    """A verified response: the message dict plus decoded field 48 and 54."""

    def __init__(self, message, raw):
        self.message = message
        self.raw = raw
        self.code = message.get("39")
        self.tags = {t: v.decode() for t, v in decode_tlv(message.get("48", b"")).items()}
        self.amounts = decode_amounts(message["54"]) if "54" in message else {}

    @property
    def rrn(self):
        return self.message.get("37")

    def __repr__(self):
        return (
            f"Response({self.message.get('t')} 39={self.code} tags={self.tags} 54={self.amounts})"
        )


class Terminal:
    # every terminal made, so a fixture can close the sockets a test left open
    instances: ClassVar[weakref.WeakSet] = weakref.WeakSet()

    def __init__(
        self,
        port,
        terminal_id="VT000001",
        merchant_id="VAFA00000000001",
        ikid="5641464100000001",
        bdk=TEST_BDK,
        counter=1,
        timeout=5.0,
    ):
        self.port = port
        self.terminal_id = terminal_id
        self.merchant_id = merchant_id
        self.ikid = bytes.fromhex(ikid)
        self.initial_key = dukpt.derive_initial_key(bdk, self.ikid)
        self.counter = counter
        self.stan = 0
        self.timeout = timeout
        self.sock = None
        self._reader = framing.FrameReader()
        self._frames = []
        self.last_keys = None
        Terminal.instances.add(self)

    # -- transport ----------------------------------------------------------------------------

    def connect(self):
        self.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self._reader = framing.FrameReader()
        self._frames = []
        return self

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __del__(self):  # a terminal used in one expression closes its socket too
        self.close()

    def send_raw(self, data):
        if self.sock is None:
            self.connect()
        self.sock.sendall(data)

    def recv_frame(self, timeout=None):
        """The next frame's payload; Closed when the server closes first; socket.timeout."""
        self.sock.settimeout(timeout or self.timeout)
        while not self._frames:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self._frames.extend(self._reader.feed(chunk))
        return self._frames.pop(0)

    # -- keys and messages --------------------------------------------------------------------

    def next_keys(self):
        while bin(self.counter).count("1") > dukpt.MAX_ONE_BITS:
            self.counter += 1
        ksn = self.ikid + self.counter.to_bytes(4, "big")
        self.counter += 1
        self.last_keys = dukpt.WorkingKeys(dukpt.derive_transaction_key(self.initial_key, ksn), ksn)
        return self.last_keys

    def next_stan(self):
        self.stan = self.stan % 999999 + 1
        return f"{self.stan:06d}"

    def times(self):
        now = dt.datetime.now(dt.UTC)
        local = now.astimezone(TEHRAN)
        return now.strftime("%m%d%H%M%S"), local.strftime("%H%M%S"), local.strftime("%m%d")

    def secrets(self, card=None, expiry=None, terminal_id=None):
        out = {SECRET_TERMINAL_ID: terminal_id or self.terminal_id}
        if card:
            out[SECRET_CARD_NUMBER] = card
        if expiry:
            out[SECRET_CARD_EXPIRY] = expiry
        return out

    def seal(self, message, secrets, keys=None):
        return protect.seal(message, keys or self.next_keys(), protect.REQUEST, secrets)

    def open(self, data, keys):
        def keys_for(ksn):
            if ksn != keys.ksn:
                raise AssertionError("response under another KSN")
            return keys

        message, _, _ = protect.open_sealed(data, keys_for, protect.RESPONSE)
        return Response(message, data)

    def exchange_raw(self, payload, keys, timeout=None):
        """Send one sealed payload, return the verified Response (MAC checked by the agent)."""
        self.send_raw(framing.frame(payload))
        return self.open(self.recv_frame(timeout), keys)

    def exchange(self, message, secrets, timeout=None):
        keys = self.next_keys()
        data = self.seal(message, secrets, keys)
        response = self.exchange_raw(data, keys, timeout)
        self.check_match(message, response)
        return response

    @staticmethod
    def check_match(request, response):
        assert response.message["t"] == RESPONSE_MTI[request["t"]]
        assert response.message["11"] == request["11"]

    # -- message builders ---------------------------------------------------------------------

    def request_0100(self, proc, amount, tags=None, stan=None, mti="0100"):
        f7, f12, f13 = self.times()
        msg = {
            "t": mti,
            "3": proc,
            "4": f"{amount:012d}",
            "7": f7,
            "11": stan or self.next_stan(),
            "12": f12,
            "13": f13,
            "22": "051",
            "25": "00",
            "42": self.merchant_id.ljust(15),
            "49": "364",
        }
        if tags:
            msg["48"] = encode_tlv(tags)
        return msg

    def follow_up(self, mti, original, rrn=None, tags=None):
        """A 0220 or 0420 pointing at `original` (the 0100 dict) through field 90."""
        f7, f12, f13 = self.times()
        msg = {
            "t": mti,
            "3": original["3"],
            "4": original["4"],
            "7": f7,
            "11": self.next_stan(),
            "12": f12,
            "13": f13,
            "42": self.merchant_id.ljust(15),
            "49": "364",
            "90": "0100" + original["11"] + original["7"] + "0" * 22,
        }
        if rrn:
            msg["37"] = rrn
        if tags:
            msg["48"] = encode_tlv(tags)
        return msg

    # -- flows ----------------------------------------------------------------------------------

    def authorize(self, proc, amount, card, tags=None):
        """Phase one; (request dict, Response)."""
        msg = self.request_0100(proc, amount, tags)
        return msg, self.exchange(msg, self.secrets(card))

    def confirm(self, original, response, card, tags=None):
        msg = self.follow_up("0220", original, response.rrn, tags)
        return self.exchange(msg, self.secrets(card))

    def reverse(self, original, card, rrn=None, reason="CN"):
        msg = self.follow_up("0420", original, rrn, {0x0B: reason})
        return self.exchange(msg, self.secrets(card))

    def purchase(self, proc, amount, card, tags=None, confirm_tags=None):
        """Both phases; (0110 Response, 0230 Response or None when phase one declined). A
        split (10) is confirmed as its remainder had been paid: pass tag 05 in confirm_tags
        for a bank remainder."""
        msg, first = self.authorize(proc, amount, card, tags)
        if first.code not in ("00", "10"):  # 10: a split's partial approval (protocol.md 5.11)
            return first, None
        return first, self.confirm(msg, first, card, confirm_tags)

    def reconcile(self, totals):
        """0500 with totals {"74": n, ..., "97": "C..."}; the Response."""
        f7, _, _ = self.times()
        msg = {"t": "0500", "7": f7, "11": self.next_stan(), "42": self.merchant_id.ljust(15)}
        for key in ("74", "75", "76", "77"):
            msg[key] = f"{totals.get(key, 0):010d}"
        for key in ("86", "87", "88", "89"):
            msg[key] = f"{totals.get(key, 0):016d}"
        msg["97"] = totals.get("97", "C" + "0" * 16)
        return self.exchange(msg, self.secrets())

    def network(self, code="301"):
        f7, _, _ = self.times()
        msg = {
            "t": "0800",
            "7": f7,
            "11": self.next_stan(),
            "42": self.merchant_id.ljust(15),
            "70": code,
        }
        return self.exchange(msg, self.secrets())
