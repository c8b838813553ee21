"""Fault-injecting proxy for 2-byte length framed TCP streams (the club link's framing).

Actions, one per frame (a whole length-prefixed message), and what the other side sees:

- `pass`: the frame;
- `drop`: nothing;
- `delay`: the frame, `plan.delay()` seconds late; every later frame of that direction and
  connection waits behind it, as on one TCP stream;
- `duplicate`: the frame twice, byte for byte;
- `truncate`: the length prefix and half the body, then the connection closes;
- `reset`: nothing, the connection closes instead of the frame;
- `flip`: the frame with 1 to 3 bits of its body inverted (the length prefix is kept, so the
  stream stays framed);
- `twice_drop_answer`, for requests (up) only: the frame twice, byte for byte, and the answer
  to the first copy dropped on its way back, so that the terminal sees only the answer to the
  copy. The server answers the requests of a connection in order, one answer each, so that
  answer is the connection's down frame numbered as the first copy among the frames sent up.

Plan applies a fixed table {(direction, index): action}; RandomPlan draws each frame's action
with a given probability from weighted choices, from seeded generators (one per direction, so a
seed gives the same actions to the same frames of a direction whatever the interleaving).
"""

import asyncio
import random
import struct
import threading

UP = "up"  # terminal -> server
DOWN = "down"  # server -> terminal
PAIRED_DROP = "drop (paired)"  # logged for the answer a twice_drop_answer drops
UP_ONLY = ("twice_drop_answer",)
MAX_FLIPS = 3


class _Hop:
    """One frame's way through the proxy: where it goes and the connection's counters."""

    __slots__ = ("conn", "direction", "writer")

    def __init__(self, conn, direction, writer):
        self.conn = conn
        self.direction = direction
        self.writer = writer

    def send(self, frame, copies=1):
        self.writer.write(frame * copies)
        self.conn.sent[self.direction] += copies


class _Connection:
    """Counters of one proxied connection: whole frames sent on and read, per direction, and
    the numbers of the down frames to drop (answers to a copy's twin)."""

    def __init__(self):
        self.sent = {UP: 0, DOWN: 0}
        self.read = {UP: 0, DOWN: 0}
        self.drop_down = set()


async def _pass(proxy, frame, hop):
    hop.send(frame)


async def _drop(proxy, frame, hop):
    pass


async def _delay(proxy, frame, hop):
    await asyncio.sleep(proxy.plan.delay(hop.direction))
    hop.send(frame)


async def _duplicate(proxy, frame, hop):
    hop.send(frame, 2)


async def _truncate(proxy, frame, hop):
    # The length prefix and half the body, then the connection closes: a frame cut short.
    hop.writer.write(frame[: 2 + (len(frame) - 2) // 2])
    await hop.writer.drain()
    raise ConnectionResetError("truncated by plan")


async def _reset(proxy, frame, hop):
    raise ConnectionResetError("reset by plan")


async def _flip(proxy, frame, hop):
    hop.send(proxy.plan.flip(hop.direction, frame))


async def _twice_drop_answer(proxy, frame, hop):
    # The server's answer to the first copy is its answer number `sent` on this connection.
    hop.conn.drop_down.add(hop.conn.sent[UP])
    hop.send(frame, 2)


# action name -> coroutine(proxy, frame, hop); a raised ConnectionResetError closes both sides.
ACTIONS = {
    "pass": _pass,
    "drop": _drop,
    "delay": _delay,
    "duplicate": _duplicate,
    "truncate": _truncate,
    "reset": _reset,
    "flip": _flip,
    "twice_drop_answer": _twice_drop_answer,
}


def flip_bits(frame, rng, max_flips=MAX_FLIPS):
    """The frame with 1..max_flips distinct bits of its body (after the 2-byte length)
    inverted, chosen by rng.

    >>> flip_bits(b"\\x00\\x01\\x00", random.Random(1), 1)
    b'\\x00\\x01@'
    """
    body = bytearray(frame[2:])
    if not body:
        return frame
    bits = len(body) * 8
    for bit in rng.sample(range(bits), min(rng.randint(1, max_flips), bits)):
        body[bit // 8] ^= 0x80 >> (bit % 8)
    return frame[:2] + bytes(body)


class Plan:
    """Which action applies to which frame: {(direction, index): action}, index counted from 0
    per direction over the proxy's lifetime (all connections). Unlisted frames pass.

    delay_s: how long a `delay` holds its frame; rng: where `flip` picks its bits (a
    random.Random; seeded 0 by default, so a plan flips the same bits every run).
    `enabled = False` lets every later frame pass (the network healed)."""

    def __init__(self, faults=None, delay_s=1.0, rng=None):
        self.faults = dict(faults or {})
        for (direction, _), action in self.faults.items():
            check_action(direction, action)
        self.delay_s = delay_s
        self.rng = rng or random.Random(0)
        self.counts = {UP: 0, DOWN: 0}
        self.log = []  # (direction, index, action, frame length)
        self.mtis = []  # the first 4 bytes of each logged frame's body, as text (its MTI)
        self.enabled = True

    def choose(self, direction, index):
        if not self.enabled:
            return "pass"
        return self.faults.get((direction, index), "pass")

    def next_action(self, direction, length, forced=None, mti=""):
        """The action for the next frame of `direction` (`forced` when the proxy already
        knows it: a paired drop); counted and logged."""
        index = self.counts[direction]
        self.counts[direction] = index + 1
        action = forced or self.choose(direction, index)
        self.log.append((direction, index, action, length))
        self.mtis.append(mti)
        return action

    def delay(self, direction):
        return self.delay_s

    def flip(self, direction, frame):
        return flip_bits(frame, self.rng)


def check_action(direction, action):
    if action not in ACTIONS:
        raise ValueError(f"unknown fault action {action!r}; one of {sorted(ACTIONS)}")
    if direction != UP and action in UP_ONLY:
        raise ValueError(f"fault action {action!r} applies to requests (direction {UP!r}) only")


class RandomPlan(Plan):
    """Each frame of a direction gets a fault with probability `rate`, the action drawn from
    `weights[direction]` ({action: weight}); delays drawn from `delays` (seconds).

    Draws come from one random.Random per direction seeded from `seed`, in the order of that
    direction's frames. With `enabled = False` nothing is drawn."""

    def __init__(self, seed, rate, weights, delays=(1.0,)):
        for direction, table in weights.items():
            for action in table:
                check_action(direction, action)
        super().__init__({}, max(delays))
        self.rate = rate
        self.weights = {d: (list(t), list(t.values())) for d, t in weights.items()}
        self.delays = tuple(delays)
        self.rngs = {d: random.Random(f"{seed}:{d}") for d in (UP, DOWN)}

    def choose(self, direction, index):
        rng = self.rngs[direction]
        if not self.enabled or direction not in self.weights or rng.random() >= self.rate:
            return "pass"
        actions, weights = self.weights[direction]
        return rng.choices(actions, weights)[0]

    def delay(self, direction):
        return self.rngs[direction].choice(self.delays)

    def flip(self, direction, frame):
        return flip_bits(frame, self.rngs[direction])


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
        conn = _Connection()
        up = asyncio.ensure_future(self._pump(_Hop(conn, UP, server_writer), client_reader))
        down = asyncio.ensure_future(self._pump(_Hop(conn, DOWN, client_writer), server_reader))
        self._tasks.update((up, down))
        try:
            await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
                self._tasks.discard(task)
            for w in (client_writer, server_writer):
                w.close()

    async def _pump(self, hop, reader):
        conn = hop.conn
        try:
            while True:
                head = await reader.readexactly(2)
                body = await reader.readexactly(struct.unpack(">H", head)[0])
                number = conn.read[hop.direction]
                conn.read[hop.direction] = number + 1
                forced = None
                if hop.direction == DOWN and number in conn.drop_down:
                    conn.drop_down.discard(number)
                    forced = PAIRED_DROP
                mti = body[:4].decode("ascii", "replace")
                action = self.plan.next_action(hop.direction, len(body), forced, mti)
                await (_drop if action == PAIRED_DROP else ACTIONS[action])(self, head + body, hop)
                await hop.writer.drain()
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
