"""The fault proxy itself, against a real asyncio echo server with the club link's framing."""

import socket
import struct

import pytest

from simulator.netfault import FaultProxy, Plan
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
