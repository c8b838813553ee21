"""`vafa bridge serve`: the ECR commands as a local HTTP/JSON endpoint, for browser-based
cashier software (docs/ecr.md section 9).

    POST /sale        {"amount": 1200000, "invoice": "INV-1001", "cashier": "07", "method": "bank"}
    POST /balance     {"cashier": "07"}
    POST /refund      {"amount": 50000, "invoice": "R-1", "cashier": "07", "original_rrn": "..."}
    POST /void        {"invoice": "V-1", "cashier": "07", "original_invoice": "INV-1001"}
    POST /status      {"invoice": "INV-1001"}
    POST /settlement  {"invoice": "Z-2024-03-20"}
    POST /print       {"text": "line 1\\nline 2"}
    POST /show        {"text": "Welcome", "seconds": 5}
    POST /topup       {"amount": 200000, "invoice": "T-1", "cashier": "07"}
    GET  /health      {"ok": true, "port": "...", "busy": false}

200 with the Result as JSON whenever the terminal answered (approved or not: look at
"result"); 400 for a bad request; 409 while another command is in flight (the link carries one
at a time); 502 when the terminal cannot be reached. Binds 127.0.0.1 only. A request from a web
page (it has an Origin header) must come from an origin given with --allow-origin, and POSTs
must be application/json, so that no other page the cashier opens can start a sale.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hostbridge.errors import BridgeError, LinkError, MessageError

MAX_BODY = 65536

# path -> (client method, mandatory keys, optional keys)
ROUTES = {
    "/sale": ("sale", ("amount", "invoice", "cashier"), ("method",)),
    "/balance": ("balance", (), ("cashier", "invoice")),
    "/refund": ("refund", ("amount", "invoice", "cashier", "original_rrn"), ("account",)),
    "/void": ("void", ("invoice", "cashier"), ("original_invoice",)),
    "/status": ("status", ("invoice",), ()),
    "/settlement": ("settlement", ("invoice",), ("cashier",)),
    "/print": ("print_text", ("text",), ()),
    "/show": ("show_text", ("text",), ("seconds",)),
    "/topup": ("topup", ("amount", "invoice", "cashier"), ()),
}


class BridgeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, client, allow_origins=(), label=""):
        super().__init__(address, Handler)
        self.client = client
        self.allow_origins = set(allow_origins)
        self.label = label
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "vafa-bridge/1"

    def log_message(self, format, *args):  # quiet: the CLI prints its own lines
        pass

    def _origin_ok(self):
        origin = self.headers.get("Origin")
        return origin is None or origin in self.server.allow_origins

    def _reply(self, status, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        origin = self.headers.get("Origin")
        if origin and origin in self.server.allow_origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        self.end_headers()
        self.wfile.write(data)

    def do_OPTIONS(self):
        if not self._origin_ok() or self.headers.get("Origin") is None:
            self._reply(403, {"error": "origin not allowed"})
            return
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Vary", "Origin")
        self.end_headers()

    def do_GET(self):
        if not self._origin_ok():
            self._reply(403, {"error": "origin not allowed"})
        elif self.path == "/health":
            busy = self.server.lock.locked()
            self._reply(200, {"ok": True, "port": self.server.label, "busy": busy})
        else:
            self._reply(404, {"error": "no such endpoint", "endpoints": sorted(ROUTES)})

    def do_POST(self):
        if not self._origin_ok():
            self._reply(403, {"error": "origin not allowed"})
            return
        route = ROUTES.get(self.path)
        if route is None:
            self._reply(404, {"error": "no such endpoint", "endpoints": sorted(ROUTES)})
            return
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            self._reply(415, {"error": "Content-Type must be application/json"})
            return
        body = self._body()
        if isinstance(body, str):
            self._reply(400, {"error": body})
            return
        method, must, may = route
        missing = [key for key in must if key not in body]
        extra = [key for key in body if key not in must and key not in may]
        if missing or extra:
            problem = f"missing {missing}" if missing else f"unknown keys {extra}"
            self._reply(400, {"error": problem, "required": list(must), "optional": list(may)})
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
        except LinkError as e:
            status, answer = 502, {"error": str(e), "kind": type(e).__name__}
        except BridgeError as e:
            status, answer = 500, {"error": str(e)}
        finally:
            self.server.lock.release()
        self._reply(status, answer)

    def _body(self):
        try:
            size = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return "bad Content-Length"
        if not 0 < size <= MAX_BODY:
            return f"a JSON object of 1..{MAX_BODY} bytes is required"
        try:
            body = json.loads(self.rfile.read(size))
        except ValueError as e:
            return f"not JSON: {e}"
        if not isinstance(body, dict):
            return "a JSON object is required"
        return body


def make_server(client, host="127.0.0.1", port=8765, allow_origins=(), label=""):
    """A BridgeServer bound to host:port (port 0: any free port; see server.server_port)."""
    return BridgeServer((host, port), client, allow_origins, label)
