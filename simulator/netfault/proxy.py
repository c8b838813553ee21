"""Fault-injecting proxy for 2-byte length framed TCP streams (the club link's framing)."""

import asyncio
import struct
import threading

UP = "up"  # terminal -> server
DOWN = "down"  # server -> terminal


async def _pass(proxy, frame, writer):
    writer.write(frame)


async def _drop(proxy, frame, writer):
    pass


async def _delay(proxy, frame, writer):
    await asyncio.sleep(proxy.plan.delay_s)
    writer.write(frame)


async def _duplicate(proxy, frame, writer):
    writer.write(frame + frame)


async def _truncate(proxy, frame, writer):
    # The length prefix and half the body, then the connection closes: a frame cut short.
    writer.write(frame[: 2 + (len(frame) - 2) // 2])
    await writer.drain()
    raise ConnectionResetError("truncated by plan")


async def _reset(proxy, frame, writer):
    raise ConnectionResetError("reset by plan")


# action name -> coroutine(proxy, frame, writer); a raised ConnectionResetError closes both sides.
ACTIONS = {
    "pass": _pass,
    "drop": _drop,
    "delay": _delay,
    "duplicate": _duplicate,
    "truncate": _truncate,
    "reset": _reset,
}


class Plan:
    """Which action applies to which frame: {(direction, index): action}, index counted from 0
    per direction over the proxy's lifetime (all connections). Unlisted frames pass."""

    def __init__(self, faults=None, delay_s=1.0):
        self.faults = dict(faults or {})
        for action in self.faults.values():
            if action not in ACTIONS:
                raise ValueError(f"unknown fault action {action!r}; one of {sorted(ACTIONS)}")
        self.delay_s = delay_s
        self.counts = {UP: 0, DOWN: 0}
        self.log = []  # (direction, index, action, frame length)

    def next_action(self, direction, length):
        index = self.counts[direction]
        self.counts[direction] = index + 1
        action = self.faults.get((direction, index), "pass")
        self.log.append((direction, index, action, length))
        return action


class FaultProxy:
    """Listen on 127.0.0.1:port (0 picks one) and forward to upstream with the plan applied.

    Use `async with` inside a loop, or `start_in_thread()` / `stop()` from synchronous tests.
    """

    def __init__(self, upstream_host, upstream_port, plan=None, port=0):
        self.upstream = (upstream_host, upstream_port)
        self.plan = plan or Plan()
        self.port = port
        self._server = None
        self._loop = None
        self._thread = None
        self._tasks = set()

    async def start(self):
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self):
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await self._server.wait_closed()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.close()

    async def _serve(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        up = asyncio.ensure_future(self._pump(UP, client_reader, server_writer))
        down = asyncio.ensure_future(self._pump(DOWN, server_reader, client_writer))
        self._tasks.update((up, down))
        try:
            await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
                self._tasks.discard(task)
            for w in (client_writer, server_writer):
                w.close()

    async def _pump(self, direction, reader, writer):
        try:
            while True:
                head = await reader.readexactly(2)
                body = await reader.readexactly(struct.unpack(">H", head)[0])
                action = self.plan.next_action(direction, len(body))
                await ACTIONS[action](self, head + body, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    # Synchronous use from tests: run the proxy's loop in a daemon thread.
    def start_in_thread(self):
        ready = threading.Event()

        def main():
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self):
        asyncio.run_coroutine_threadsafe(self.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
