"""The fault proxy itself, against a real asyncio echo server with the club link's framing."""

import socket
import struct

import pytest

from simulator.netfault import FaultProxy, Plan, RandomPlan
from simulator.netfault.proxy import DOWN, UP


@pytest.fixture
def echo_server():
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    holder = {}

    async def serve(reader, writer):
        try:
            while True:
                head = await reader.readexactly(2)
                writer.write(head + await reader.readexactly(struct.unpack(">H", head)[0]))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def main():
        server = loop.run_until_complete(asyncio.start_server(serve, "127.0.0.1", 0))
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        holder["ready"].set()
        loop.run_forever()

    holder["ready"] = threading.Event()
    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    holder["ready"].wait(5)
    yield holder["port"]

    async def shutdown():  # close the server and its connection tasks before the loop stops
        holder["server"].close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def exchange(port, payload, timeout=1.0):
    """Send one frame; return every byte received until the peer closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">H", len(payload)) + payload)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
                s.settimeout(0.3)  # after the first bytes, wait only for a duplicate
        except (TimeoutError, ConnectionResetError):
            pass
        return data


@pytest.mark.parametrize(
    ("faults", "expect"),
    [
        ({}, b"\x00\x05hello"),
        ({(DOWN, 0): "duplicate"}, b"\x00\x05hello" * 2),
        ({(UP, 0): "drop"}, b""),
        ({(DOWN, 0): "truncate"}, b"\x00\x05he"),
        ({(UP, 0): "reset"}, b""),
    ],
)
def test_actions(echo_server, faults, expect):
    proxy = FaultProxy("127.0.0.1", echo_server, Plan(faults)).start_in_thread()
    try:
        assert exchange(proxy.port, b"hello") == expect
        assert proxy.plan.log[0][:2] == (UP, 0)
    finally:
        proxy.stop()


def test_delay_passes_late(echo_server):
    proxy = FaultProxy("127.0.0.1", echo_server, Plan({(DOWN, 0): "delay"}, delay_s=0.5))
    proxy.start_in_thread()
    try:
        with pytest.raises(TimeoutError), socket.create_connection(("127.0.0.1", proxy.port)) as s:
            s.settimeout(0.2)
            s.sendall(b"\x00\x02hi")
            s.recv(10)
        assert exchange(proxy.port, b"hi", timeout=2.0) == b"\x00\x02hi"
    finally:
        proxy.stop()


def test_unknown_action_is_refused():
    with pytest.raises(ValueError, match="unknown fault action"):
        Plan({(UP, 0): "explode"})


def frames(*payloads):
    return b"".join(struct.pack(">H", len(p)) + p for p in payloads)


def exchange_many(port, payloads, expect_bytes, timeout=2.0):
    """Send frames on one connection; the bytes received until expect_bytes came or it went
    quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(frames(*payloads))
        data = b""
        try:
            while len(data) < expect_bytes and (chunk := s.recv(4096)):
                data += chunk
            s.settimeout(0.3)  # anything more (which would be wrong) arrives now
            while chunk := s.recv(4096):
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return data


def test_flip_inverts_a_few_bits_of_the_body(echo_server):
    payload = b"\x00" * 32
    proxy = FaultProxy("127.0.0.1", echo_server, Plan({(UP, 0): "flip"})).start_in_thread()
    try:
        got = exchange(proxy.port, payload)
    finally:
        proxy.stop()
    assert got[:2] == b"\x00\x20" and len(got) == 34  # the length prefix is kept
    flipped = sum(bin(b).count("1") for b in got[2:])
    assert 1 <= flipped <= 3


def test_twice_drop_answer_delivers_twice_and_drops_the_first_answer(echo_server):
    """up: "one", then "two" twice; the echo answers three frames, the proxy drops the answer
    to the first "two": the client sees "one", "two" once, and the server saw four frames."""
    plan = Plan({(UP, 1): "twice_drop_answer"})
    proxy = FaultProxy("127.0.0.1", echo_server, plan).start_in_thread()
    try:
        got = exchange_many(proxy.port, [b"one", b"two"], len(frames(b"one", b"two")))
    finally:
        proxy.stop()
    assert got == frames(b"one", b"two")
    assert sorted((d, i, a) for d, i, a, _ in plan.log) == [
        (DOWN, 0, "pass"),
        (DOWN, 1, "drop (paired)"),
        (DOWN, 2, "pass"),
        (UP, 0, "pass"),
        (UP, 1, "twice_drop_answer"),
    ]
    assert plan.mtis[0] == "one"


def test_twice_drop_answer_is_for_requests_only():
    with pytest.raises(ValueError, match="requests"):
        Plan({(DOWN, 0): "twice_drop_answer"})


def test_random_plan_is_seeded_per_direction():
    weights = {UP: {"drop": 1, "flip": 1}, DOWN: {"delay": 1}}
    a = RandomPlan("s", 0.5, weights, delays=(0.1, 0.2))
    b = RandomPlan("s", 0.5, weights, delays=(0.1, 0.2))
    # the same seed gives the same actions to the same frames, whatever the interleaving
    ups = [a.next_action(UP, 10) for _ in range(50)]
    downs = [a.next_action(DOWN, 10) for _ in range(50)]
    assert [b.next_action(d, 10) for d in (DOWN, UP) * 50][1::2] == ups
    assert [(d, i, x) for d, i, x, _ in b.log if d == DOWN] == [
        (DOWN, i, x) for i, x in enumerate(downs)
    ]
    assert set(ups) == {"pass", "drop", "flip"} and set(downs) == {"pass", "delay"}
    a.enabled = False
    assert {a.next_action(UP, 10) for _ in range(20)} == {"pass"}
    with pytest.raises(ValueError, match="unknown fault action"):
        RandomPlan("s", 0.5, {UP: {"explode": 1}})
