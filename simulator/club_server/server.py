"""The club server: an asyncio TCP service speaking docs/protocol.md.

Per message, in the event loop: read the frame, decode with pyiso8583, find the terminal by the
initial key id of the KSN, check the format, verify the MAC, decrypt field 62 (docs/protocol.md
4.3 steps 1-3). Then one call into the database runs steps 4-6 and the business rules in one
SQLite transaction (simulator.club_server.host). The response is sealed under the same KSN and
sent the way the outcome table says (normally: at once).

Where the database work runs (simulator.club_server.database): by default in the event loop
itself, requests that arrive together in one transaction (group commit: each request in a
savepoint of its own, every answer sent only after the COMMIT), which also keeps requests for
one balance strictly sequential; WAL checkpoints run in a thread of their own, never inside a
request. A dedicated database thread (db_thread=True) keeps the loop free during SQLite calls
but costs more: under load the two threads fight for the GIL and every socket send waits for it
(about 30 % fewer messages per second with 1,000 terminals).

Nothing a terminal sends can stop the server: a frame that does not decode closes its
connection; anything unexpected is logged (never with a card number) and answered 96 when
the request can still be answered, else its connection is closed.

Nothing a peer does can hold the server either (docs/protocol.md section 1): a connection
quiet for idle_timeout is closed; so is one whose frame is not complete frame_timeout seconds
after its first byte (half a frame, then a stall), or that does not take its answers within
frame_timeout; beyond max_connections open at once, a new connection is closed at once.
Bad input is a warning line, never a traceback.
"""

import asyncio
import logging
import threading
import time

from agent.protocol import framing
from agent.protocol.errors import DukptError, FramingError
from simulator.club_server import pins, protection, wire
from simulator.club_server.cards import CardVault, load_or_create_secret, secret_path_for
from simulator.club_server.context import Config, Request
from simulator.club_server.database import Database
from simulator.club_server.host import CLOSE, Host, Outcome, respond
from simulator.club_server.outcomes import BAD_MAC, DROP, SLOW, TWICE, OutcomeTable

log = logging.getLogger("vafa.club_server")

# ANSI X9.24-3-2017 test BDK. TEST ONLY: never use it for a real terminal.
TEST_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
SLOW_DELAY = 12.0  # seconds: more than the terminal's 10 s response timer
IDLE_TIMEOUT = 300.0  # seconds without a byte before a connection is closed
FRAME_TIMEOUT = 10.0  # seconds from a frame's first byte to its last (and to take an answer)
MAX_CONNECTIONS = 4096  # open at once (also capped by the process's open-files limit)
FD_RESERVE = 64  # open files kept for the database, logs and the listener
REFUSAL_LOG_S = 10.0  # at most one warning line per this many seconds about refusals
MAX_SWEEP_CHUNKS = 1000  # per sweep; what is left waits for the next one


class ClubServer:
    """The reference club server. `await start()`, then `.port`; `await stop()`.

    db_path: the SQLite file (created on first run). bdk: 16 bytes or 32 hex digits (default:
    the X9.24-3 test BDK, TEST ONLY). hold_window: seconds an approval waits for its 0220
    before the sweeper releases it. secret: the 32-byte server secret for card-number hashes
    (default: read from, or created in, DB_PATH.key). slow_delay: seconds a "slow" outcome
    waits. clock: a function returning Unix seconds (handed in for tests). idle_timeout,
    frame_timeout, max_connections: the connection limits of the module doc.
    """

    def __init__(
        self,
        db_path,
        host="127.0.0.1",
        port=0,
        bdk=TEST_BDK,
        hold_window=900.0,
        *,
        secret=None,
        slow_delay=SLOW_DELAY,
        sweep_interval=None,
        idle_timeout=IDLE_TIMEOUT,
        frame_timeout=FRAME_TIMEOUT,
        max_connections=MAX_CONNECTIONS,
        request_retention=7 * 86400.0,
        clock=time.time,
        outcomes=None,
        backlog=4096,
        db_thread=False,
    ):
        if isinstance(bdk, str):
            bdk = bytes.fromhex(bdk)
        self.db_path = str(db_path)
        self.host = host
        self._requested_port = port
        self._keyring = protection.Keyring(bdk)
        if secret is None:
            secret = load_or_create_secret(secret_path_for(self.db_path))
        self._vault = CardVault(secret)
        self.config = Config(hold_window, request_retention)
        self._host = Host(self.config, self._vault, outcomes or OutcomeTable())
        self.slow_delay = slow_delay
        self.sweep_interval = sweep_interval or min(60.0, max(self.config.hold_window / 4, 0.05))
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self.max_connections = max_connections
        self._refusal_logged = float("-inf")
        self._clock = clock
        self._backlog = backlog
        self.db = Database(self.db_path, threaded=db_thread)
        self._server = None
        self._sweeper = None
        self._known_ikids = set()
        self._writers = set()
        self._tasks = set()
        self.stats = {
            "connections": 0,
            "messages": 0,
            "closed_by_server": 0,
            "errors": 0,
            "refused": 0,
        }
        self.port = None

    # -- life cycle -------------------------------------------------------------------------

    async def start(self):
        from agent.protocol import aes_cryptography

        aes_cryptography.install()  # AES through OpenSSL, not the portable pure-Python one
        open_files = _raise_open_files_limit()
        if open_files is not None and self.max_connections > open_files - FD_RESERVE:
            self.max_connections = max(1, open_files - FD_RESERVE)
            log.info("at most %d connections: the open-files limit is %d", self.max_connections,
                     open_files)  # fmt: skip
        await self.db.open()
        await self.sweep()  # approvals left open while the server was down are released now
        self._server = await asyncio.start_server(
            self._connection, self.host, self._requested_port, backlog=self._backlog
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep_loop())
        log.info("club server on %s:%d, database %s", self.host, self.port, self.db_path)

    async def serve_forever(self):
        if self._server is None:
            await self.start()
        await self._server.serve_forever()

    async def stop(self):
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sweeper is not None:
            await asyncio.gather(self._sweeper, return_exceptions=True)
        try:
            await asyncio.wait_for(server.wait_closed(), 5.0)
        except TimeoutError:
            log.warning("connections still closing at shutdown")
        await self.db.close()
        log.info("club server stopped")

    async def sweep(self):
        """Release approvals past the hold window (and other housekeeping) now: in chunks
        (phase_two.SWEEP_CHUNK rows of each kind, one transaction each), the loop free for
        requests between them, until nothing is left or MAX_SWEEP_CHUNKS."""
        result = {"released": 0, "expired": 0}
        for _ in range(MAX_SWEEP_CHUNKS):
            chunk = await self.db.call(self._host.sweep, self._clock())
            result["released"] += chunk["released"]
            result["expired"] += chunk["expired"]
            if not chunk.get("more"):
                break
            await asyncio.sleep(0)  # requests waiting run before the next chunk
        if result["released"] or result["expired"]:
            log.info("sweep: %(released)d approvals released, %(expired)d rials expired", result)
        return result

    async def _sweep_loop(self):
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")

    def run_in_thread(self):
        """Start in a background thread with its own event loop; a ServerThread handle."""
        return ServerThread(self).start()

    # -- connections --------------------------------------------------------------------------

    async def _connection(self, reader, writer):
        if len(self._writers) >= self.max_connections:
            self._refuse(writer)
            return
        self._writers.add(writer)
        self.stats["connections"] += 1
        try:
            while True:
                try:
                    payload = await self._read_frame(reader)
                except FramingError as e:
                    log.warning("framing error, closing: %s", e)
                    break
                except OSError:  # reset by the peer, or another socket error
                    break
                if payload is None:
                    break
                self.stats["messages"] += 1
                try:
                    outcome, keys = await self._process(payload)
                except Exception:
                    self.stats["errors"] += 1
                    log.exception("request failed; closing the connection")
                    break
                if outcome is CLOSE or outcome.behaviour == DROP:
                    self.stats["closed_by_server"] += 1
                    break
                if not self._send(writer, outcome, keys):
                    break
                if not await self._drained(writer):
                    break
        except Exception:  # a bug here must cost one connection, never the server
            self.stats["errors"] += 1
            log.exception("connection handler failed")
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _read_frame(self, reader):
        """One frame's payload (framing.read_frame, with two clocks); None at a clean end of
        the stream or after idle_timeout without a byte. FramingError for a length of 0 or
        above 4096, an end mid-frame, or a frame not complete frame_timeout seconds after its
        first byte: a terminal may stay quiet for minutes, but half a frame and then nothing is
        a dead or hostile peer."""
        started = False
        try:
            # asyncio.timeout, not wait_for: no task per message (docs/performance.md)
            async with asyncio.timeout(self.idle_timeout) as clock:
                head = await reader.read(2)
                if not head:
                    return None
                started = True
                clock.reschedule(asyncio.get_running_loop().time() + self.frame_timeout)
                if len(head) == 1:
                    head += await reader.readexactly(1)
                size = (head[0] << 8) | head[1]
                if not 0 < size <= framing.MAX_FRAME:
                    raise FramingError(f"frame length {size}, allowed 1..{framing.MAX_FRAME}")
                return await reader.readexactly(size)
        except TimeoutError:
            if not started:
                return None  # idle: close quietly (the terminal reconnects when it needs to)
            raise FramingError(
                f"frame not complete {self.frame_timeout:g} s after its first byte"
            ) from None
        except EOFError:  # asyncio.IncompleteReadError
            raise FramingError("connection closed mid-frame") from None

    async def _drained(self, writer):
        """False when the peer does not take what was written within frame_timeout (it sends
        requests and never reads the answers): its connection is closed, not waited on
        forever. Nothing buffered, the usual case, costs no timer."""
        if not writer.transport.get_write_buffer_size():
            return True
        try:
            async with asyncio.timeout(self.frame_timeout):
                await writer.drain()
        except TimeoutError:
            log.warning("answers not taken within %g s, closing", self.frame_timeout)
            writer.transport.abort()  # close() would wait for the peer to take them: forever
            return False
        except OSError:  # the connection broke
            return False
        return True

    def _refuse(self, writer):
        """Close a connection beyond max_connections at once. There is nothing to answer
        (no request yet, and no keys to seal an answer with); waiting would let a flood of
        connections hold the sockets the terminals need."""
        self.stats["refused"] += 1
        now = time.monotonic()
        if now - self._refusal_logged >= REFUSAL_LOG_S:
            self._refusal_logged = now
            log.warning(
                "%d connections open (max_connections): closing new ones (%d so far)",
                len(self._writers),
                self.stats["refused"],
            )
        writer.close()

    def _send(self, writer, outcome, keys):
        try:
            data = framing.frame(
                protection.seal_response(
                    outcome.message, keys, corrupt_mac=outcome.behaviour == BAD_MAC
                )
            )
        except Exception:
            self.stats["errors"] += 1
            log.exception("response could not be encoded")
            return False
        if writer.is_closing():
            return False
        if outcome.behaviour == SLOW:
            task = asyncio.create_task(self._send_later(writer, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return True
        writer.write(data)
        if outcome.behaviour == TWICE:
            writer.write(data)
        return True

    async def _send_later(self, writer, data):
        await asyncio.sleep(self.slow_delay)
        if not writer.is_closing():
            writer.write(data)

    async def _terminal_known(self, ikid):
        if ikid in self._known_ikids:
            return True
        terminal = await self.db.read(lambda store: store.terminal_by_ikid(ikid))
        if terminal is None:
            return False
        self._known_ikids.add(ikid)
        return True

    async def _process(self, payload):
        """(Outcome or CLOSE, keys) for one frame's payload."""
        now = self._clock()
        try:
            message, secondary = wire.decode(payload)
        except wire.Undecodable as e:
            log.warning("frame does not decode (%d bytes), closing: %s", len(payload), e.reason)
            return CLOSE, None
        if message["t"] not in wire.ORIGINAL:
            log.warning("MTI %s is not a request, closing", message["t"])
            return CLOSE, None
        ksn = message.get("53")
        if not isinstance(ksn, bytes) or len(ksn) != 12:
            log.warning("%s without a usable KSN, closing", message["t"])
            return CLOSE, None
        ikid = ksn[:8].hex().upper()
        if not await self._terminal_known(ikid):
            log.warning("unknown initial key id %s, closing", ikid)
            return CLOSE, None
        try:
            keys = self._keyring.keys_for(ksn)
        except DukptError as e:
            log.warning("KSN %s unusable (%s), closing", ksn.hex().upper(), e)
            return CLOSE, None
        # The MAC before the format (docs/protocol.md 4.3): a 30 then always concerns what the
        # terminal really sent; a frame the network changed is 63, which a terminal does not
        # take as the final answer to a sale (section 6.2).
        if not protection.verify_request_mac(payload, keys):
            log.warning("MAC failed: %s KSN %s", message["t"], ksn.hex().upper())
            return Outcome(respond(message, "63")), keys
        try:
            wire.check_format(message, secondary)
        except wire.FormatError as e:
            log.warning("format error from %s: %s", ikid, e)
            return Outcome(respond(message, "30")), keys
        secrets = None
        try:
            secrets = protection.decrypt_secrets(message["62"], keys)
        except protection.SecretsError:
            log.warning("field 62 does not decrypt: KSN %s", ksn.hex().upper())
        if secrets is not None:  # field 52 and 62 tag 04: the PINs, RAM only (pins.py)
            secrets = pins.open_blocks(message, keys, secrets)
        request = Request(
            message,
            secrets,
            ikid,
            int.from_bytes(ksn[8:], "big"),
            self._content_hash(message, secrets),
            now,
        )
        try:
            outcome = await self.db.request(self._host.handle, request)
        except Exception:
            self.stats["errors"] += 1
            log.exception("database work failed: %s STAN %s", message["t"], message.get("11"))
            return Outcome(respond(message, "96")), keys
        if outcome is not CLOSE and log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s STAN %s -> %s %s (%s)",
                ikid,
                message["t"],
                message.get("11"),
                outcome.message.get("39"),
                outcome.behaviour or "",
                outcome.summary,
            )
        return outcome, keys

    def _content_hash(self, message, secrets):
        """Keyed digest of what docs/protocol.md section 6 compares: every field but 53, the
        ciphertext of 62 and the MAC, with 62 compared after decryption; the MTI by class."""
        parts = [wire.CLASS[message["t"]]]
        for key in sorted([int(k) for k in message if k not in _NOT_HASHED]):
            value = message[str(key)]
            parts.append(f"{key}={value.hex() if isinstance(value, bytes) else value}")
        if secrets:
            parts += [f"s{tag}={secrets[tag]}" for tag in sorted(secrets)]
        return self._vault.content_hash("\x1f".join(parts).encode())


# not in the content hash: the MTI (its class is), the KSN and MAC (new on a repeat), 52 and 62
# (compared opened, as secrets)
_NOT_HASHED = frozenset(("t", "52", "53", "62", "64", "128"))


class ServerThread:
    """A ClubServer running in a background thread, for synchronous callers (tests, demos)."""

    def __init__(self, server):
        self.server = server
        self._thread = None
        self._loop = None
        self._stopping = None
        self._started = threading.Event()
        self._error = None

    @property
    def port(self):
        return self.server.port

    def start(self, timeout=10.0):
        self._thread = threading.Thread(target=self._run, name="club-server", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("club server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _run(self):
        try:
            asyncio.run(self._main())
        except Exception as e:  # reported to start() when it happens before the start
            if not self._started.is_set():
                self._error = e
                self._started.set()
            else:
                log.exception("club server thread ended with an error")

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self.server.start()
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            await self.server.stop()

    def call(self, fn, *args, timeout=30.0):
        """Run fn(storage, *args) in the server's database thread; its result."""
        future = asyncio.run_coroutine_threadsafe(self.server.db.call(fn, *args), self._loop)
        return future.result(timeout)

    def sweep(self, timeout=30.0):
        return asyncio.run_coroutine_threadsafe(self.server.sweep(), self._loop).result(timeout)

    def stop(self, timeout=15.0):
        if self._thread is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_in_thread(db_path, **kwargs):
    """ClubServer(db_path, **kwargs) started in a background thread: a ServerThread."""
    return ClubServer(db_path, **kwargs).run_in_thread()


def _raise_open_files_limit():
    """Let one process hold a thousand terminals' sockets: raise the soft limit of open files
    to the hard limit (where the platform has one). The soft limit now, or None when there is
    none or it cannot be told."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard)
            )
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft
