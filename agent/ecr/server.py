"""An ECR port, the link layer and the session, polled by the entry point's loop.

The ECR port is a tiny interface (adapters: simulator/pos_emulator/ecr_port.py on CPython; a
board's UART or socket on MicroPython):

    read(timeout_ms) -> bytes     what arrived within timeout_ms (b"" when nothing)
    write(data)                   raises OSError when the peer is gone (the answer stays kept)
    generation                    optional int: changes when a new peer connected (TCP)
    wake()                        optional: make a read() in progress return now

    server = EcrServer(port, session)
    while running:
        server.poll(50)

One answer is in flight at a time (docs/ecr.md section 4); at most `max_waiting` more wait
behind it. A cashier that sends commands faster than it acknowledges the answers (a flood, or
software that never reads) would otherwise grow that queue until the heap is gone; beyond it,
answers are dropped, and a result kept by invoice stays kept for a status inquiry.
"""

from agent.ecr import spec
from agent.ecr.errors import EcrError
from agent.ecr.link import Link
from agent.ecr.message import decode_message, encode_body
from agent.ports import SystemClock

MAX_WAITING = 8  # answers queued behind the one in flight; a cashier that keeps the rules has 1


class EcrServer:
    def __init__(self, port, session, link=None, ticks_ms=None, log=None, max_waiting=MAX_WAITING):
        self.port = port
        self.session = session
        self.link = link if link is not None else Link()
        self.ticks_ms = ticks_ms if ticks_ms is not None else SystemClock().ticks_ms
        self.log = log
        self.generation = getattr(port, "generation", 0)
        self.lost = 0  # answers never acknowledged (kept for a status inquiry)
        self.max_waiting = max_waiting
        self.dropped = 0  # answers not queued: max_waiting were waiting already
        self._dropping = False
        wake = getattr(port, "wake", None)
        if wake is not None:
            session.notify = wake  # a finished command wakes the loop: no polling delay

    def poll(self, wait_ms=50):
        """Read for up to wait_ms, then do everything that is due; returns the replies sent."""
        wait = 0 if self.session.job is not None and self.session.job["result"] else wait_ms
        try:
            data = self.port.read(wait)
        except OSError:
            data = b""
        generation = getattr(self.port, "generation", 0)
        if generation != self.generation:
            self.generation = generation
            self._lost(self.link.take_failed())
            self.link.reset()
            self._lost(self.link.take_failed())
        now = self.ticks_ms()
        payloads = self.link.feed(data, now) if data else []
        payloads.extend(self.link.poll(now))
        replies = []
        for payload in payloads:
            replies.extend(self._command(payload))
        replies.extend(self.session.poll())
        sent = []
        for msg_type, fields in replies:
            if self._room():
                self.link.send(encode_body(msg_type, fields), now)
                sent.append((msg_type, fields))
        self._lost(self.link.take_failed())
        out = self.link.take_output()
        if out:
            try:
                self.port.write(out)
            except OSError as e:
                self._say(f"write failed ({e}): answers are kept for a status inquiry")
        return sent

    def _command(self, payload):
        try:
            msg = decode_message(payload)
        except EcrError as e:
            fields = {"result": spec.BAD_REQUEST, "message": str(e)[:255]}
            return [(payload[1] | spec.RESPONSE, fields)]
        name = spec.COMMANDS.get(msg["type"], f"type {msg['type']:02X}")
        self._say(f"<- {name} {msg['fields'].get('invoice') or ''}".rstrip())
        return self.session.handle(msg)

    def _room(self):
        """Whether one more answer may be queued; counts and reports the ones that may not
        (one line per flood, not one per answer)."""
        if len(self.link.queue) < self.max_waiting:
            self._dropping = False
            return True
        self.dropped += 1
        if not self._dropping:
            self._dropping = True
            self._say(f"{self.max_waiting} answers wait for an ACK: dropping more "
                      "(results stay kept for a status inquiry)")  # fmt: skip
        return False

    def _lost(self, bodies):
        for body in bodies:
            self.lost += 1
            name = spec.COMMANDS.get(body[0] & 0x7F, "?")
            self._say(f"answer to {name} not acknowledged: kept for a status inquiry")

    def _say(self, text):
        if self.log is not None:
            self.log(text)
