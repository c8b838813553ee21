"""The BankLeg port (agent/ports.py) over a byte stream to the PSP's payment application:
docs/bank_leg.md "On a device: the bank leg over a socket".

    bank = SocketBankLeg(connect)           # connect() -> a connection (below), on demand
    bank.pay(1085000, card, txn_id)         # {"status": "approved", "reference": ..., ...}
    bank.status(txn_id)                     # the status inquiry
    bank.reverse(txn_id, 1085000)           # give a charge back: {"status": "reversed", ...}

Pure: the connection comes from `connect()` (agent/device/peripherals.py BankConn: TCP) and has
write(data), read(timeout_ms) -> bytes (b"" when nothing came in time; OSError once the peer
closed) and close().

- Frames: a 2-byte big-endian length, then a UTF-8 JSON object (agent/protocol/framing.py).
- One request at a time; an answer names its request's "op" and "id". Any other answer is a
  late one and is discarded.
- pay: no answer within pay_ms, a broken or refused connection -> status "timeout" (charged or
  not is unknown: the engine asks status(), then confirms or reverses; pay is never sent twice
  for one id). The connection is closed after any failure, so a late answer on it can never be
  taken for the next request's.
- status: on a fresh connection when needed; no usable answer raises LinkError (an OSError:
  the engine then counts the payment as not found).
- reverse: the PSP's reversal of its own payment txn_id (docs/bank_leg.md "Reversal"); no
  usable answer -> status "timeout" (the engine asks again: the PSP reverses once per id).
Only the last 4 digits of the card travel: the PSP reads the card itself.
"""

import json

from agent.links import LinkDown, LinkError, LinkTimeout, close_quietly, elapsed_ms, ticks_ms
from agent.protocol.errors import FramingError
from agent.protocol.framing import FrameReader, frame

MAX_FRAME = 1024
PAY_MS = 120000  # the customer may take a while on the PSP's screen (card, PIN)
STATUS_MS = 10000
# op -> the statuses an answer may carry (anything else is no usable answer)
ANSWERS = {
    "pay": ("approved", "declined", "cancelled"),
    "status": ("approved", "declined", "cancelled", "unknown"),
    "reverse": ("reversed", "declined"),
}
TIMEOUT = "timeout"


def encode(fields):
    """One request or answer as its frame bytes."""
    return frame(json.dumps(fields).encode(), MAX_FRAME)


def decode(payload):
    """The dict of one frame's payload; FramingError when it is not a JSON object."""
    try:
        fields = json.loads(bytes(payload).decode())
    except ValueError:
        raise FramingError("bank leg frame is not JSON")
    if not isinstance(fields, dict):
        raise FramingError("bank leg frame is not a JSON object")
    return fields


def result(answer):
    """The port's dict of a usable answer."""
    status = answer["status"]
    reference = answer.get("reference") if status in ("approved", "reversed") else None
    return {"status": status, "reference": reference, "message": answer.get("message") or ""}


class SocketBankLeg:
    def __init__(self, connect, pay_ms=PAY_MS, status_ms=STATUS_MS):
        self.connect = connect
        self.pay_ms = pay_ms
        self.status_ms = status_ms
        self.conn = None
        self.reader = None

    def pay(self, amount, card, txn_id):
        request = {"op": "pay", "id": txn_id, "amount": amount}
        last4 = getattr(card, "last4", None)
        if last4:
            request["last4"] = last4
        try:
            return result(self._exchange(request, self.pay_ms))
        except LinkError as e:
            return {"status": TIMEOUT, "reference": None, "message": str(e)}

    def status(self, txn_id):
        return result(self._exchange({"op": "status", "id": txn_id}, self.status_ms))

    def reverse(self, txn_id, amount):
        request = {"op": "reverse", "id": txn_id, "amount": amount}
        try:
            return result(self._exchange(request, self.status_ms))
        except LinkError as e:
            return {"status": TIMEOUT, "reference": None, "message": str(e)}

    def close(self):
        conn, self.conn = self.conn, None
        close_quietly(conn)

    # -- inside ----------------------------------------------------------------------------

    def _open(self):
        """A connection that is still up: an idle one the PSP closed is replaced first (so an
        idle close never costs a payment); bytes waiting on it are late answers: dropped."""
        if self.conn is not None:
            try:
                self.conn.read(0)
            except OSError:
                self.close()
        if self.conn is None:
            try:
                self.conn = self.connect()
            except OSError as e:
                raise LinkDown("bank leg unreachable: " + str(e), sent=False)
            self.reader = FrameReader(MAX_FRAME)
        return self.conn

    def _exchange(self, request, timeout_ms):
        """The answer to `request` within timeout_ms; LinkError otherwise (connection closed)."""
        conn = self._open()
        try:
            conn.write(encode(request))
        except OSError:
            self.close()
            raise LinkDown("bank leg connection broke while sending")
        start = ticks_ms()
        while True:
            left = timeout_ms - elapsed_ms(start)
            if left <= 0:
                self.close()
                raise LinkTimeout("no answer from the bank leg in " + str(timeout_ms) + " ms")
            try:
                data = conn.read(left)
                frames = self.reader.feed(data) if data else ()
                for payload in frames:
                    answer = decode(payload)
                    if answer.get("op") != request["op"] or answer.get("id") != request["id"]:
                        continue  # a late answer to an earlier request
                    if answer.get("status") not in ANSWERS[request["op"]]:
                        raise FramingError("bank leg answer without a usable status")
                    return answer
            except (OSError, FramingError) as e:
                self.close()
                raise LinkDown("bank leg connection lost: " + str(e))
