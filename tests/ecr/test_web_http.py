"""`vafa bridge serve` as an HTTP/1.1 server (docs/ecr.md section 9): keep-alive with a read
deadline per request, a connection closed when a body is left unread, 405 with Allow, every
endpoint in the 404, HEAD, the access log, the bearer token, the page's own origin; and the
command refusing a non-loopback address without a token.

Real sockets and http.client against a real BridgeServer whose client is on loop:// (these
requests are refused or answered before anything would be sent to a terminal)."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from hostbridge.web import ENDPOINTS
from tests.ecr.support import REPO
from tests.ecr.test_cli_e2e import VAFA
from tests.ecr.test_web_limits import read_all

TOKEN = "k3y-For-The-Bridge_0123456789"
# a request answered without a terminal: its body is read whole, then refused (400)
MISSING = json.dumps({"amount": 5}).encode()
JSON = {"Content-Type": "application/json"}


def connection(server):
    return http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)


def ask(conn, method, path, body=None, headers=None):
    """(status, headers, parsed JSON or raw bytes) of one exchange on `conn`."""
    conn.request(method, path, body, headers or {})
    answer = conn.getresponse()
    data = answer.read()
    kind = answer.getheader("Content-Type", "")
    value = json.loads(data) if data and kind.startswith("application/json") else data
    return answer.status, answer, value


def test_one_connection_carries_many_requests(bridge):
    server = bridge(read_timeout=2.0)
    conn = connection(server)
    status, answer, _ = ask(conn, "GET", "/health")
    assert status == 200 and answer.version == 11
    assert answer.getheader("Connection") != "close"
    sock = conn.sock
    status, _, body = ask(conn, "POST", "/sale", MISSING, JSON)
    assert status == 400 and "missing" in body["error"]
    status, _, doc = ask(conn, "GET", "/openapi.json")
    assert status == 200 and doc["openapi"] == "3.1.0"
    status, _, page = ask(conn, "GET", "/")
    assert status == 200 and b"<form" in page
    assert conn.sock is sock  # the same TCP connection served all four
    assert server.open_connections == 1
    conn.close()


def test_answers_on_a_kept_connection_do_not_wait_for_delayed_acks(bridge):
    # an answer written in two pieces waits ~40 ms each for the client's delayed ACK (Nagle):
    # 50 answers took 2.3 s so; written at once, with TCP_NODELAY, about 25 ms
    server = bridge()
    conn = connection(server)
    ask(conn, "GET", "/health")
    start = time.monotonic()
    for _ in range(50):
        assert ask(conn, "GET", "/health")[0] == 200
    assert time.monotonic() - start < 1.0
    conn.close()


def test_an_idle_keep_alive_connection_is_closed_at_the_read_timeout(bridge):
    server = bridge(read_timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        start = time.monotonic()
        data = read_all(sock)  # the answer, then the close when the next request never comes
        assert data.startswith(b"HTTP/1.1 200") and b'"ok": true' in data
        assert 0.3 < time.monotonic() - start < 2.0


def test_pipelined_requests_are_answered_in_order(bridge):
    server = bridge(read_timeout=1.0)
    post = (b"POST /sale HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(MISSING), MISSING))  # fmt: skip
    last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
        sock.sendall(post + last)
        data = read_all(sock)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3})", data)
    assert statuses == [b"400", b"200"]


def test_a_body_left_unread_closes_the_connection(bridge):
    # the 415 comes before the body is read: what is left of it must not be taken for the
    # next request, so the bridge says Connection: close and closes
    server = bridge(read_timeout=2.0)
    raw = (b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 29\r\n\r\nGET /health HTTP/1.1\r\n\r\n\r\n\r\n")  # fmt: skip
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
        sock.sendall(raw)
        start = time.monotonic()
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 415") and b"Connection: close" in data
    assert data.count(b"HTTP/1.1") == 1  # the body was not answered as a request
    assert time.monotonic() - start < 1.5


# (method, path) -> the Allow header of its 405
WRONG_METHODS = {
    ("GET", "/sale"): "POST, OPTIONS",
    ("PUT", "/sale"): "POST, OPTIONS",
    ("DELETE", "/status"): "POST, OPTIONS",
    ("POST", "/health"): "GET, HEAD, OPTIONS",
    ("PATCH", "/openapi.json"): "GET, HEAD, OPTIONS",
    ("POST", "/"): "GET, HEAD, OPTIONS",
}


@pytest.mark.parametrize(("method", "path"), list(WRONG_METHODS))
def test_a_wrong_method_is_405_with_allow(bridge, method, path):
    server = bridge()
    conn = connection(server)
    status, answer, body = ask(conn, method, path, b"{}" if method != "GET" else None, JSON)
    assert status == 405 and answer.getheader("Allow") == WRONG_METHODS[(method, path)]
    assert method in body["error"] and path in body["error"]
    conn.close()


def test_the_404_lists_every_endpoint(bridge):
    server = bridge()
    conn = connection(server)
    for method, path in (("GET", "/nope"), ("POST", "/sales"), ("DELETE", "/x")):
        status, _, body = ask(conn, method, path, b"{}" if method != "GET" else None, JSON)
        assert status == 404 and body["endpoints"] == ENDPOINTS
    for endpoint in ("GET /", "GET /openapi.json", "GET /health", "POST /sale", "POST /topup"):
        assert endpoint in ENDPOINTS
    assert ask(conn, "GET", "/health?probe=1")[0] == 200  # a query string is not the path
    conn.close()


def test_head_answers_the_headers_of_get(bridge):
    server = bridge()
    conn = connection(server)
    _, got, page = ask(conn, "GET", "/")
    status, head, nothing = ask(conn, "HEAD", "/")
    assert status == 200 and nothing == b""
    assert head.getheader("Content-Length") == str(len(page))
    assert got.getheader("Content-Security-Policy").startswith("default-src 'self'")
    conn.close()


CLF = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "(.*)" (\d{3}) '
                 r"(\d+) (\d+\.\d{3})$")  # fmt: skip


def test_the_access_log_has_a_line_per_answer_and_never_the_token(bridge):
    lines = []
    server = bridge(access_log=lines.append, token=TOKEN.encode(), max_connections=1)
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as raw:
        raw.sendall(b"GET /\x1b[31mred HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_all(raw).startswith(b"HTTP/1.1 404")
    deadline = time.monotonic() + 3
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    conn = connection(server)
    ask(conn, "GET", "/health")
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as extra:
        read_all(extra)  # one more than --max-connections: 503 from the accepting thread
    ask(conn, "POST", "/sale", MISSING, {**JSON, "Authorization": "Bearer " + TOKEN})
    ask(conn, "POST", "/sale", MISSING, JSON)  # refused before its body is read: closes
    conn.close()
    deadline = time.monotonic() + 3
    while len(lines) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    parsed = [CLF.match(line) for line in lines]
    assert all(parsed), lines
    seen = [(m[1], m[2]) for m in parsed]
    # the 503 is written by the accepting thread: its place among the others may vary
    assert seen.count(("-", "503")) == 1 and len(seen) == 5
    assert [entry for entry in seen if entry[1] != "503"] == [
        ("GET /\\x1b[31mred HTTP/1.1", "404"),  # a terminal escape is not written as it is
        ("GET /health HTTP/1.1", "200"),
        ("POST /sale HTTP/1.1", "400"),
        ("POST /sale HTTP/1.1", "401"),
    ]
    health = next(m for m in parsed if m[1] == "GET /health HTTP/1.1")
    assert int(health[3]) > 0  # the bytes of the body sent
    assert not any(TOKEN in line or "Bearer" in line for line in lines)


def test_the_token_guards_every_command_but_not_the_page(bridge):
    server = bridge(token=TOKEN.encode(), allow_origins=["http://till.local"])
    conn = connection(server)
    for path in ("/", "/page.js", "/page.css", "/icon.svg", "/openapi.json", "/health"):
        assert ask(conn, "GET", path)[0] == 200, path
    status, answer, body = ask(conn, "POST", "/sale", MISSING, JSON)
    assert status == 401 and answer.getheader("WWW-Authenticate") == 'Bearer realm="vafa-bridge"'
    assert "no token" in body["error"]
    for wrong in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", "Basic " + TOKEN, TOKEN):
        status, answer, _ = ask(conn, "POST", "/sale", MISSING, {**JSON, "Authorization": wrong})
        assert status == 401 and 'error="invalid_token"' in answer.getheader("WWW-Authenticate")
    status, _, body = ask(
        conn, "POST", "/sale", MISSING, {**JSON, "Authorization": "Bearer " + TOKEN}
    )
    assert status == 400 and "missing" in body["error"]  # past the token: the body is checked
    # a browser's preflight carries no credentials: it is answered, and allows the header
    status, answer, _ = ask(conn, "OPTIONS", "/sale", None, {"Origin": "http://till.local"})
    assert status == 204 and "Authorization" in answer.getheader("Access-Control-Allow-Headers")
    conn.close()


def test_the_page_own_origin_is_allowed_and_others_are_not(bridge):
    server = bridge()
    port = server.server_port
    conn = connection(server)
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        status, answer, _ = ask(conn, "POST", "/sale", MISSING, {**JSON, "Origin": origin})
        assert status == 400, origin  # past the origin check
        assert answer.getheader("Access-Control-Allow-Origin") is None  # same origin: no CORS
    conn.close()
    # a DNS-rebinding page: its origin names the port, but not a name of this machine
    conn = connection(server)
    rebound = {**JSON, "Origin": f"http://evil.example:{port}", "Host": f"evil.example:{port}"}
    assert ask(conn, "POST", "/sale", MISSING, rebound)[0] == 403
    conn.close()


def _serve(*argv, env=None):
    return subprocess.Popen(
        [*VAFA, "bridge", "serve", "--port", "loop://", *argv],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_serve_beyond_loopback_needs_a_token(tmp_path):
    done = _serve("--listen", "0.0.0.0:0", env={"VAFA_BRIDGE_TOKEN": ""})
    _out, err = done.communicate(timeout=60)
    assert done.returncode == 2 and "only with a token" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    short = tmp_path / "token"
    short.write_text("abc\n")
    done = _serve("--listen", "0.0.0.0:0", "--token-file", str(short))
    _out, err = done.communicate(timeout=60)
    assert done.returncode == 2 and "at least 16 characters" in err and str(short) in err
    good = tmp_path / "good"
    good.write_text(TOKEN + "\n")
    proc = _serve("--listen", "0.0.0.0:0", "--token-file", str(good))
    try:
        line = proc.stdout.readline()
        assert "bearer token required" in line
        port = int(line.split()[1].rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        assert ask(conn, "POST", "/sale", MISSING, JSON)[0] == 401
        auth = {**JSON, "Authorization": "Bearer " + TOKEN}
        assert ask(conn, "POST", "/sale", MISSING, auth)[0] == 400
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    err = proc.stderr.read()
    assert '"POST /sale HTTP/1.1" 401' in err and '"POST /sale HTTP/1.1" 400' in err
    assert TOKEN not in err and "Traceback" not in err


def test_an_access_log_that_cannot_be_opened_is_one_line(tmp_path):
    where = str(tmp_path / "no-such-folder" / "access.log")
    done = _serve("--listen", "127.0.0.1:0", "--access-log", where)
    _out, err = done.communicate(timeout=60)
    assert done.returncode == 2 and f"--access-log {where}" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
