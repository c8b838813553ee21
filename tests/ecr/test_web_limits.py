"""`vafa bridge serve` against bad input and bad peers: every bad body is a 400 with a reason,
http.server's own refusals are JSON too, stalled and trickling connections are dropped after the
read timeout without blocking anyone, connections beyond the limit are answered 503 at once
without a thread each, and nothing ever prints a traceback (docs/ecr.md section 9).

Real sockets against a real BridgeServer (its client on loop://: these requests never reach
it), and the command itself as a subprocess.
"""

import json
import select
import signal
import socket
import subprocess
import threading
import time

import pytest

from hostbridge.webbody import MAX_BODY, MAX_DEPTH
from tests.ecr.support import REPO
from tests.ecr.test_cli_e2e import VAFA


def connect(server, timeout=5.0):
    return socket.create_connection(("127.0.0.1", server.server_port), timeout=timeout)


def read_all(sock):
    """Everything until the server closes (a reset counts as a close)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def parse(data):
    """(status, JSON body) of one HTTP answer."""
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), data[:200]
    return int(head.split()[1]), json.loads(body)


def exchange(server, raw, timeout=5.0):
    with connect(server, timeout) as sock:
        sock.sendall(raw)
        return parse(read_all(sock))


def post(body, path="/status", headers=None):
    """A POST with a JSON content type, closing the connection after its answer; Content-Length
    from the body unless headers say."""
    head = {"Host": "127.0.0.1", "Content-Type": "application/json", "Connection": "close"}
    if headers is None or "Content-Length" not in headers:
        head["Content-Length"] = str(len(body))
    head.update(headers or {})
    lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
NESTED = b"[" * 1000 + b"]" * 1000

# (request, what the error must say)
BAD_BODIES = {
    "nested 1000 levels": (post(b'{"invoice": ' + NESTED + b"}"), "nested 1001 levels deep"),
    "a nested array": (post(NESTED), f"(at most {MAX_DEPTH})"),
    "brackets in strings are text": (
        post(b'{"invoice": "' + b"[" * 900 + b'", "x": [[1]]}'),
        "unknown keys ['x']",
    ),
    "too large": (post(b"{" + b" " * MAX_BODY + b"}"), f"1..{MAX_BODY} bytes"),
    "empty": (post(b""), "Content-Length says 0"),
    "an array": (post(b"[1, 2]"), "a JSON object is required, not an array"),
    "a string": (post(b'"INV-1"'), "not a string"),
    "null": (post(b"null"), "not null"),
    "bad UTF-8": (post(b'{"invoice": "\xff\xfe"}'), "not UTF-8"),
    "not JSON": (post(b'{"invoice": }'), "not JSON"),
    "NaN": (post(b'{"amount": NaN, "invoice": "I", "cashier": "1"}', "/sale"), "NaN"),
    "an object value": (post(b'{"invoice": {"a": 1}}'), "'invoice' must be a string or a number"),
    "an array value": (
        post(b'{"amount": 1, "invoice": "I", "cashier": "1", "method": ["c"]}', "/sale"),
        "'method' must be a string or a number, not an array",
    ),
    "a lone surrogate": (post(b'{"invoice": "\\ud800"}'), "lone surrogate"),
    "Content-Length not a number": (
        post(b"{}", headers={"Content-Length": "abc"}),
        "bad Content-Length 'abc'",
    ),
    "Content-Length with an underscore": (
        post(b'{"invoice": "I-1"}', headers={"Content-Length": "1_8"}),
        "bad Content-Length '1_8'",
    ),
    "Content-Length negative": (
        post(b"{}", headers={"Content-Length": "-2"}),
        "bad Content-Length '-2'",
    ),
    "two Content-Lengths": (
        post(b"{}").replace(b"\r\n\r\n", b"\r\nContent-Length: 3\r\n\r\n"),
        "conflicting Content-Length headers",
    ),
    "no Content-Length": (
        b"POST /status HTTP/1.1\r\nContent-Type: application/json\r\n\r\n",
        "Content-Length is required",
    ),
    "chunked": (
        b"POST /status HTTP/1.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "Transfer-Encoding is not supported",
    ),
    "body shorter than its Content-Length": (
        post(b'{"invoice": "I"}', headers={"Content-Length": "100"}),
        "stopped after 16 of the 100 bytes",
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_bad_body_is_400_with_a_reason(bridge, capfd, case):
    server = bridge(read_timeout=1.0)
    raw, reason = BAD_BODIES[case]
    status, body = exchange(server, raw)
    assert status == 400, body
    assert reason in body["error"], body
    assert exchange(server, HEALTH)[0] == 200  # and it goes on serving
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", 431),
        (b"GET /health HTTP/1.1\r\nX-A: " + b"b" * 70000 + b"\r\n\r\n", 431),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # a TLS hello
        (b"BREW /pot HTTP/1.1\r\n\r\n", 501),
        (b"GET /health HTTP/9.9\r\n\r\n", 505),
    ],
)
def test_http_refusals_are_json(bridge, capfd, raw, status):
    server = bridge(read_timeout=1.0)
    got, body = exchange(server, raw)
    assert got == status and body["error"]
    assert "Traceback" not in capfd.readouterr().err


def test_stalled_connections_neither_block_nor_stay(bridge, capfd):
    server = bridge(read_timeout=1.0, max_connections=64)
    stalls = [b"", b"POST /sa", b"POST /status HTTP/1.1\r\nContent-Type: appl",
              post(b'{"invoice": "I-1"}')[:-5]]  # fmt: skip
    sockets = []
    for i in range(40):
        sock = connect(server)
        sock.sendall(stalls[i % len(stalls)])
        sockets.append(sock)
    start = time.monotonic()
    assert exchange(server, HEALTH)[0] == 200
    # under the 1 s read timeout: a server that waited for one stalled request would take 1 s
    assert time.monotonic() - start < 0.9
    for sock in sockets:  # each is closed after the read timeout (the half bodies get a 400)
        sock.settimeout(3.0)
        data = read_all(sock)
        assert not data or parse(data)[0] == 400
        sock.close()
    assert time.monotonic() - start < 3.0
    assert "Traceback" not in capfd.readouterr().err


def test_a_trickling_request_is_cut_off_at_the_read_timeout(bridge):
    server = bridge(read_timeout=1.0)
    request = b"GET /health HTTP/1.1\r\n" + b"X-Pad: slow\r\n" * 50 + b"\r\n"
    sock = connect(server)
    start = time.monotonic()
    for byte in request:  # a byte every 50 ms: the whole request would take 35 s
        if select.select([sock], [], [], 0.05)[0] or time.monotonic() - start > 3.0:
            break  # readable: the server closed it (a request never complete has no answer)
        try:
            sock.send(bytes((byte,)))
        except OSError:
            break
    assert read_all(sock) == b""
    sock.close()
    assert time.monotonic() - start < 2.0


def test_connections_beyond_the_limit_are_answered_503_at_once(bridge, capfd):
    server = bridge(read_timeout=5.0, max_connections=4)
    idle = [connect(server) for _ in range(4)]
    _wait_for(lambda: server.open_connections == 4)
    for _ in range(20):
        start = time.monotonic()
        with connect(server) as sock:
            sock.sendall(HEALTH)
            data = read_all(sock)
        assert time.monotonic() - start < 0.5
        if data:  # the answer, unless the close overtook it
            status, body = parse(data)
            assert status == 503 and "too many connections" in body["error"]
    assert server.refused == 20
    for sock in idle:
        sock.close()
    _wait_for(lambda: server.open_connections == 0)
    assert exchange(server, HEALTH)[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_hundreds_of_stalled_connections_hold_no_thread_each(bridge):
    baseline = threading.active_count()
    server = bridge(read_timeout=2.0, max_connections=16)
    sockets = [connect(server) for _ in range(300)]
    _wait_for(lambda: server.open_connections + server.refused == 300)
    assert threading.active_count() <= baseline + 1 + 16  # serve_forever + the handlers
    for sock in sockets:  # refused at once, or closed at the read timeout
        sock.settimeout(3.0)
        read_all(sock)
        sock.close()
    _wait_for(lambda: server.open_connections == 0)
    assert exchange(server, HEALTH)[0] == 200


def test_the_serve_command_takes_its_limits_and_prints_no_traceback():
    proc = subprocess.Popen(
        [*VAFA, "bridge", "serve", "--port", "loop://", "--listen", "127.0.0.1:0",
         "--read-timeout", "2", "--max-connections", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("bridge: http://127.0.0.1:")
        port = int(line.split()[1].rsplit(":", 1)[1])
        address = ("127.0.0.1", port)
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(post(b'{"invoice": ' + NESTED + b"}"))
            status, body = parse(read_all(sock))
        assert status == 400 and "nested" in body["error"]
        silent = [socket.create_connection(address, timeout=5) for _ in range(4)]
        time.sleep(0.5)
        held = [sock for sock in silent if not select.select([sock], [], [], 0)[0]]
        # the others were answered 503 and closed at once (2, or 1 while the thread of the
        # first request was still closing its connection)
        assert 1 <= len(held) <= 2
        for sock in held:  # closed by the server after its 2 s read timeout
            assert read_all(sock) == b""
        for sock in silent:
            sock.close()
        assert _eventually_healthy(lambda: socket.create_connection(address, timeout=5))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        err = proc.stderr.read()
    assert "Traceback" not in err, err


def _eventually_healthy(open_connection, seconds=3.0):
    """GET /health answers 200 within `seconds` (a slot frees a moment after a close)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open_connection() as sock:
            sock.sendall(HEALTH)
            data = read_all(sock)
        if data and parse(data)[0] == 200:
            return True
        time.sleep(0.05)
    return False


def _wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)
