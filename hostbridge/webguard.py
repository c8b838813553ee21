"""Who may call `vafa bridge serve` (docs/ecr.md section 9.3): web origins, the optional bearer
token, and the access log. Pure checks over header values; the HTTP handler (web.py) asks them.

    >>> guard = Guard(allow_origins=["http://till.local"], token=b"s3cret-token-0123456789")
    >>> guard.origin_ok("http://till.local", "", 8765), guard.origin_ok("http://evil", "", 8765)
    (True, False)
    >>> guard.token_ok("Bearer s3cret-token-0123456789"), guard.token_ok("Bearer nope")
    (True, False)
"""

import hashlib
import hmac
import re
import threading
import time

MIN_TOKEN = 16  # characters: a token shorter than this is refused when the bridge starts
# RFC 6750's b64token: what may follow "Bearer " in an Authorization header
TOKEN_SYNTAX = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
TOKEN_HINT = 'make one with: python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
REALM = "vafa-bridge"


def token_problem(token):
    """What is wrong with a token read from --token-file or $VAFA_BRIDGE_TOKEN, or None.

    >>> token_problem("short")
    'a token of at least 16 characters is required (this one has 5)'
    >>> token_problem("x" * 16 + " y")
    'a token is letters, digits and - . _ ~ + / (then = padding), with no spaces'
    """
    if len(token) < MIN_TOKEN:
        return f"a token of at least {MIN_TOKEN} characters is required (this one has {len(token)})"
    if not TOKEN_SYNTAX.fullmatch(token):
        return "a token is letters, digits and - . _ ~ + / (then = padding), with no spaces"
    return None


def _digest(data):
    return hashlib.sha256(data).digest()


class Guard:
    """allow_origins: web origins allowed to call (besides the bridge's own page); token: bytes,
    or None when every caller on this machine is trusted (the bridge then binds loopback only)."""

    def __init__(self, allow_origins=(), token=None):
        self.allow_origins = frozenset(allow_origins)
        self.token = token
        self._token_digest = None if token is None else _digest(token)

    def own_origins(self, port, host_header):
        """The origins of the bridge's own page (GET /): its loopback names on its port; with a
        token also the name it was reached by (a page from another name then still needs the
        token, so a DNS rebinding gains nothing)."""
        own = {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
        if self.token is not None and host_header:
            own.add(f"http://{host_header}")
        return own

    def origin_ok(self, origin, host_header, port):
        """A request without an Origin header (curl, a native program, a top-level page load)
        passes this check; a browser's request from another page passes only if allowed."""
        if origin is None:
            return True
        return origin in self.allow_origins or origin in self.own_origins(port, host_header)

    def cors_origin(self, origin):
        """The origin to name in Access-Control-Allow-Origin, or None."""
        return origin if origin in self.allow_origins else None

    def token_ok(self, authorization):
        """Whether an Authorization header carries the token, compared in constant time (the
        digests of both are compared, so not even the length is told)."""
        if self.token is None:
            return True
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(_digest(given.strip().encode("utf-8", "replace")),
                                   self._token_digest)  # fmt: skip

    def challenge(self, authorization):
        """The WWW-Authenticate header of a 401 (RFC 6750 section 3)."""
        if authorization:
            return f'Bearer realm="{REALM}", error="invalid_token"'
        return f'Bearer realm="{REALM}"'


# request line characters that must not reach a log as they are (a terminal escape in a path)
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
MAX_LOGGED = 200  # characters of a request line in the log


class AccessLog:
    """One line per answer, in the Common Log Format plus the seconds it took:

        127.0.0.1 - - [04/Dec/2026:21:15:11 +0000] "POST /sale HTTP/1.1" 200 512 0.831

    Only the request line is logged: never a header (the token) or a body (card data). `write`
    takes a line; it is called from many threads, one line at a time."""

    def __init__(self, write, clock=time.time):
        self._write = write
        self._clock = clock
        self._lock = threading.Lock()

    def __call__(self, client, request_line, status, size, seconds):
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self._clock()))
        line = (request_line or "-").translate(_CONTROL)
        if len(line) > MAX_LOGGED:
            line = line[:MAX_LOGGED] + "..."
        line = line.replace('"', '\\"')
        text = f'{client} - - [{stamp}] "{line}" {status} {size} {seconds:.3f}'
        with self._lock:
            self._write(text)
