"""`vafa bridge serve`: the ECR commands as a local HTTP/JSON endpoint, for browser-based
cashier software (docs/ecr.md section 9).

    POST /sale        {"amount": 1200000, "invoice": "INV-1001", "cashier": "07", "method": "bank"}
                      (optional "coupon": "NOWRUZ10", a coupon code the customer gave)
    POST /balance     {"cashier": "07"}
    POST /refund      {"amount": 50000, "invoice": "R-1", "cashier": "07", "original_rrn": "..."}
    POST /void        {"invoice": "V-1", "cashier": "07", "original_invoice": "INV-1001"}
    POST /status      {"invoice": "INV-1001"}
    POST /settlement  {"invoice": "Z-2024-03-20"}
    POST /print       {"text": "line 1\\nline 2"}
    POST /show        {"text": "Welcome", "seconds": 5}
    POST /topup       {"amount": 200000, "invoice": "T-1", "cashier": "07"}
    GET  /health      {"ok": true, "port": "...", "busy": false}

    GET  /openapi.json  the OpenAPI 3.1 document (openapi.py)
    GET  /              a page to send a sale from a browser (static/)

200 with the Result as JSON whenever the terminal answered (approved or not: look at
"result"); 400 for a bad request, with a sentence saying what is wrong (webbody.py; a value the
terminal cannot take is said in the cashier's words, checked before anything is sent); 401
without the token when the bridge has one; 403 for a web origin not allowed; 404 naming every
endpoint; 405 with Allow; 409 while another command is in flight (the link carries one at a
time); 415 for a POST that is not JSON; 502 when the terminal cannot be reached ("sent": false
when the command never left, true when it went out unanswered and its outcome is unknown); 503
when max_connections are open already. Every answer but the page's files is a JSON object.
Who may call (webguard.py): without a token, this PC only, and a browser only from an origin
given with --allow-origin or the bridge's own page; with a token, any caller that carries it.

HTTP/1.1 with keep-alive on the standard library's http.server, because the limits are this
module's own code around the socket: each request (line, headers and body) must arrive whole
within read_timeout seconds of the connection or of the previous answer, however it trickles
in, and its answer must be taken within as many; an answer sent before the request's body was
read closes the connection; at most max_connections are served at once (a thread each), and
one more is answered 503 at once by the accepting thread, which never waits for it; a closing
connection lingers to swallow what the client still sends, so the answer is not reset away.

The table of what is served (ROUTES, PAGES, METHODS, ENDPOINTS, the page's files) is in
webroutes.py; this module is the server and its request handler.
"""

import contextlib
import io
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hostbridge import openapi
from hostbridge.deadline import Deadline
from hostbridge.errors import BridgeError, LinkError, MessageError
from hostbridge.webbody import content_length, parse_body, value_problem
from hostbridge.webguard import AccessLog, Guard
from hostbridge.webroutes import (  # noqa: F401 (PAGES, PUBLIC: importable from here as before)
    ENDPOINTS,
    METHODS,
    PAGE_HEADERS,
    PAGES,
    PUBLIC,
    ROUTES,
    load_pages,
)

READ_TIMEOUT = 5.0  # seconds for a whole request to arrive (and for its answer to be taken)
MAX_CONNECTIONS = 32  # a browser opens 6 per host; the rest is room for other cashier tools
LINGER_S = 1.0  # after the answer: how long the client's unread bytes are swallowed, at most
LINGER_BYTES = 1 << 20


def _raw_answer(status, reason, body):
    """A whole HTTP answer as bytes, for the accepting thread to send without a handler."""
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nServer: vafa-bridge/1\r\n"
        f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(data)}\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


class _DeadlineReader(io.RawIOBase):
    """A socket's receiving side with one deadline for everything read, not one per recv: a
    peer that trickles a byte now and then (slowloris) is cut off all the same."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline

    def readable(self):
        return True

    def readinto(self, buffer):
        left = self.deadline.left()
        if left is not None and left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class BridgeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of connections waits in the backlog, not in SYN retries

    def __init__(
        self,
        address,
        client,
        allow_origins=(),
        label="",
        *,
        read_timeout=READ_TIMEOUT,
        max_connections=MAX_CONNECTIONS,
        token=None,
        access_log=None,
    ):
        super().__init__(address, Handler)
        self.client = client
        self.guard = Guard(allow_origins, token)
        self.access = AccessLog(access_log) if access_log is not None else None
        self.pages = load_pages()
        self.pages["/openapi.json"] = (
            json.dumps(openapi.document(ROUTES), ensure_ascii=False, indent=1).encode(),
            "application/json; charset=utf-8",
        )
        self.label = label
        self.lock = threading.Lock()
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.open_connections = 0
        self.refused = 0
        self._requests = 0  # requests whose line has arrived and whose answer is not logged
        self._idle = threading.Condition()
        self._count = threading.Lock()
        self._busy = _raw_answer(
            503,
            "Service Unavailable",
            {"error": f"too many connections ({max_connections} open): try again"},
        )

    def process_request(self, request, client_address):
        with self._count:
            room = self.open_connections < self.max_connections
            if room:
                self.open_connections += 1
        if not room:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # no thread could be started
            self._leave()
            self._refuse(request)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._leave()

    def begin_request(self):
        with self._idle:
            self._requests += 1

    def end_request(self):
        with self._idle:
            self._requests -= 1
            self._idle.notify_all()

    def wait_idle(self, seconds):
        """After serve_forever: let the requests in progress finish (their answers written and
        logged) for up to `seconds`; idle keep-alive connections are not waited for."""
        with self._idle:
            return self._idle.wait_for(lambda: self._requests == 0, seconds)

    def _leave(self):
        with self._count:
            self.open_connections -= 1

    def _refuse(self, request):
        """503 from the accepting thread, which must never wait: what the client has sent so
        far is read first (closing over unread bytes would reset the connection under the
        answer), then the answer goes out if the socket buffer takes it, and the socket closes."""
        self.refused += 1
        if self.access is not None:
            with contextlib.suppress(OSError):
                body = len(self._busy) - self._busy.index(b"\r\n\r\n") - 4
                self.access(request.getpeername()[0], "", 503, body, 0.0)
        with contextlib.suppress(OSError):
            request.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                request.recv(65536)
            request.send(self._busy)
        self.shutdown_request(request)

    def handle_error(self, request, client_address):
        # A peer that went away or stalled (OSError, TimeoutError) needs no word. Anything else
        # is a bug: one line, never a traceback.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            print(f"vafa bridge serve: {type(error).__name__}: {error}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    server_version = "vafa-bridge/1"
    # HTTP/1.1: a connection stays open for the next request (keep-alive) unless the client
    # says "Connection: close" or speaks HTTP/1.0; each request has its own read deadline
    protocol_version = "HTTP/1.1"
    # a request line without a version (garbage, or HTTP/0.9) is still answered with a status
    # line and headers: an HTTP/0.9 answer would be the bare JSON body
    default_request_version = "HTTP/1.0"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()  # the makefile() reader: replaced by one with a deadline
        self.reader = _DeadlineReader(self.connection, Deadline(self.server.read_timeout))
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self):
        """One request of the connection: it must arrive whole within read_timeout of the
        connection or of the previous answer (an idle keep-alive connection is closed then)."""
        self.reader.deadline = Deadline(self.server.read_timeout)
        self._status = self._started = None
        self._sent = 0
        self._unread = False  # a body the answer came before: the connection must close
        self._begun = False  # the request line arrived: a stop waits for its answer and log
        self.headers = None  # not the previous request's, should this one's line be refused
        try:
            super().handle_one_request()
            if self._status is not None and self.server.access is not None:
                seconds = time.monotonic() - (self._started or time.monotonic())
                self.server.access(self.client_address[0], getattr(self, "requestline", ""),
                                   self._status, self._sent, seconds)  # fmt: skip
        finally:
            if self._begun:
                self.server.end_request()

    def parse_request(self):
        self._started = time.monotonic()
        self._begun = True
        self.server.begin_request()
        ok = super().parse_request()
        if ok:
            lengths = self.headers.get_all("Content-Length", ())
            chunked = "Transfer-Encoding" in self.headers
            self._unread = chunked or any(value.strip() not in ("", "0") for value in lengths)
        return ok

    def finish(self):
        super().finish()
        self._linger()

    def _linger(self):
        """Close gracefully: send FIN, then swallow what the client still sends (a body not
        read because the answer came first), for LINGER_S and LINGER_BYTES at most, until its
        FIN. Closing over unread bytes would reset the connection and lose the answer."""
        deadline = Deadline(min(LINGER_S, self.server.read_timeout))
        swallowed = 0
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            while swallowed < LINGER_BYTES and not deadline.expired():
                self.connection.settimeout(deadline.left())
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                swallowed += len(chunk)

    def log_message(self, format, *args):  # the access log is AccessLog's, one line each
        pass

    def log_request(self, code="-", size="-"):
        self._status = int(code) if str(code).isdigit() else code

    def flush_headers(self):
        # the answer goes out now: the peer has read_timeout seconds to take it
        self.connection.settimeout(self.server.read_timeout)
        super().flush_headers()

    def send_error(self, code, message=None, explain=None):
        # http.server's own refusals (request line or header too long, too many headers, a
        # malformed request line, an unsupported method) in JSON, like every other answer
        self.close_connection = True
        body = {"error": message or self.responses.get(code, ("error",))[0]}
        if explain:
            body["detail"] = explain
        self._reply(code, body)

    def _reply(self, status, body, headers=(), data=None, kind="application/json; charset=utf-8"):
        """One answer: a JSON body (or `data` of type `kind`), with `headers`. The connection
        closes after it when a body of the request is left unread, or on http.server's own
        refusals; otherwise it stays open for the next request."""
        if data is None:
            data = json.dumps(body, ensure_ascii=False).encode()
        if self._unread:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        request_headers = getattr(self, "headers", None)  # none when the line was refused
        origin = request_headers.get("Origin") if request_headers is not None else None
        if origin and self.server.guard.cors_origin(origin):
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        for name, value in dict(headers).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        # head and body in one write: two small writes on a kept-alive connection would wait
        # for the client's delayed ACK (Nagle), ~40 ms an answer
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
            self._sent = len(data)
        self.flush_headers()

    def _refused(self, public):
        """Whether the origin or the token refuses this request; if so its answer is sent."""
        guard = self.server.guard
        if not guard.origin_ok(self.headers.get("Origin"), self.headers.get("Host", ""),
                               self.server.server_port):  # fmt: skip
            self._reply(403, {"error": "origin not allowed"})
            return True
        if public:
            return False
        authorization = self.headers.get("Authorization")
        if not guard.token_ok(authorization):
            what = "a wrong token" if authorization else "no token"
            self._reply(401, {"error": f"{what}: send Authorization: Bearer TOKEN"},
                        {"WWW-Authenticate": guard.challenge(authorization)})  # fmt: skip
            return True
        return False

    @property
    def route(self):
        """The request's path without its query string (the bridge takes none)."""
        return self.path.partition("?")[0]

    def _wrong_path_or_method(self):
        """404 naming every endpoint, or 405 with Allow: whether this path and method can
        never be served (then the answer is sent)."""
        allowed = METHODS.get(self.route)
        if allowed is None:
            self._reply(404, {"error": f"no such endpoint: {self.path[:100]}",
                              "endpoints": ENDPOINTS})  # fmt: skip
            return True
        if self.command not in allowed:
            allow = ", ".join((*allowed, "OPTIONS"))
            self._reply(405, {"error": f"{self.route} answers {allow}, not {self.command}"},
                        {"Allow": allow})  # fmt: skip
            return True
        return False

    def do_OPTIONS(self):
        origin = self.headers.get("Origin")
        if origin is None or not self.server.guard.cors_origin(origin):
            self._reply(403, {"error": "origin not allowed"})
            return
        allowed = METHODS.get(self.route, ("GET", "POST"))
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Access-Control-Allow-Methods", ", ".join((*allowed, "OPTIONS")))
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Vary", "Origin")
        self.send_header("Content-Length", "0")
        if self._unread:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()

    def do_GET(self):
        if self._wrong_path_or_method() or self._refused(public=True):
            return
        if self.route == "/health":
            busy = self.server.lock.locked()
            self._reply(200, {"ok": True, "port": self.server.label, "busy": busy})
            return
        data, kind = self.server.pages[self.route]
        headers = PAGE_HEADERS if kind.startswith("text/html") else {}
        self._reply(200, None, headers, data=data, kind=kind)

    do_HEAD = do_GET

    def _not_allowed(self):
        self._wrong_path_or_method()

    do_PUT = do_DELETE = do_PATCH = _not_allowed

    def do_POST(self):
        if self._wrong_path_or_method() or self._refused(public=False):
            return
        route = ROUTES[self.route]
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            self._reply(415, {"error": "Content-Type must be application/json"})
            return
        body = self._body()
        if isinstance(body, str):
            self.close_connection = True  # what is left of the body is not a next request
            self._reply(400, {"error": body})
            return
        method, must, may = route
        missing = [key for key in must if key not in body]
        extra = [key for key in body if key not in must and key not in may]
        if missing or extra:
            problem = f"missing {missing}" if missing else f"unknown keys {extra}"
            self._reply(400, {"error": problem, "required": list(must), "optional": list(may)})
            return
        problem = value_problem(body)
        if problem:
            self._reply(400, {"error": problem})
            return
        if not self.server.lock.acquire(blocking=False):
            self._reply(409, {"result": "10", "result_text": "busy", "error": "busy"})
            return
        # The link is released before the answer goes out: a cashier that sends its next
        # request the moment it reads this answer must never find the bridge still busy.
        try:
            status, answer = 200, getattr(self.server.client, method)(**body).to_dict()
        except MessageError as e:
            status, answer = 400, {"error": str(e)}
        except LinkError as e:  # sent: false, the command never left (safe to send again)
            status, answer = 502, {"error": str(e), "kind": type(e).__name__,
                                   "sent": e.sent is not False}  # fmt: skip
        except BridgeError as e:
            status, answer = 500, {"error": str(e)}
        except Exception as e:  # a bug: an answer and one line, not a dropped connection
            print(f"vafa bridge serve: {self.path}: {type(e).__name__}: {e}", file=sys.stderr)
            status, answer = 500, {"error": f"internal error: {type(e).__name__}: {e}"}
        finally:
            self.server.lock.release()
        self._reply(status, answer)

    def _body(self):
        """The request's JSON object, or a sentence saying what is wrong with it."""
        size = content_length(self.headers)
        if isinstance(size, str):
            return size
        data = bytearray()
        with contextlib.suppress(TimeoutError):
            while len(data) < size:
                chunk = self.rfile.read1(size - len(data))
                if not chunk:
                    break
                data += chunk
        self._unread = len(data) < size
        if len(data) < size:
            return (
                f"the body stopped after {len(data)} of the {size} bytes its Content-Length "
                f"says (within {self.server.read_timeout:g} s)"
            )
        return parse_body(bytes(data))


def make_server(
    client,
    host="127.0.0.1",
    port=8765,
    allow_origins=(),
    label="",
    read_timeout=READ_TIMEOUT,
    max_connections=MAX_CONNECTIONS,
    token=None,
    access_log=None,
):
    """A BridgeServer bound to host:port (port 0: any free port; see server.server_port).
    token: bytes every request but the public GETs must carry as "Authorization: Bearer";
    access_log: a callable taking one line per answer (webguard.AccessLog)."""
    return BridgeServer(
        (host, port),
        client,
        allow_origins,
        label,
        read_timeout=read_timeout,
        max_connections=max_connections,
        token=token,
        access_log=access_log,
    )
