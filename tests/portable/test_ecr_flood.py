"""The terminal's ECR loop against a cashier that floods commands and acknowledges no answer:
at most MAX_WAITING answers wait behind the one in flight (docs/ecr.md 2.1), so the heap stays
bounded, one line says so, and once the cashier takes answers again the link works as before."""

from agent.ecr.frame import Scanner, ack, encode_frame
from agent.ecr.message import decode_message, encode_message
from agent.ecr.server import MAX_WAITING, EcrServer
from agent.ports import ManualClock
from tests.portable.test_ecr_session import MemoryPort, new_session

STATUS = 0x05
FLOOD = 3000


def status_frame(seq, invoice):
    return encode_frame(encode_message(seq, STATUS, {"invoice": invoice}))


def test_a_flood_without_acks_queues_at_most_max_waiting_answers():
    _engine, session = new_session()
    port = MemoryPort()
    said = []

    def log(text):  # one line per command comes too: only these are kept
        if "dropping" in text:
            said.append(text)

    server = EcrServer(port, session, ticks_ms=ManualClock().ticks_ms, log=log)
    for first in range(0, FLOOD, 50):
        port.inbox = b"".join(
            status_frame(n % 255 + 1, "F-" + str(n)) for n in range(first, first + 50)
        )
        server.poll(0)
        port.written = b""
    assert len(server.link.queue) == MAX_WAITING
    assert server.dropped == FLOOD - 1 - MAX_WAITING  # one is in flight
    assert len(said) == 1
    # the cashier takes the answers again: the waiting ones go out, then it is served at once
    for _ in range(MAX_WAITING + 1):
        port.inbox = ack(server.link.inflight[1])
        server.poll(0)
    assert server.link.idle
    port.written = b""
    port.inbox = status_frame(7, "INV-X")
    server.poll(0)
    events = Scanner().feed(port.written, 0)
    assert events[0] == ("ack", 7)
    answer = decode_message(events[1][1])
    assert answer["type"] == 0x85 and answer["fields"]["result"] == "12"
