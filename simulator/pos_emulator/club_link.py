"""The club as the emulated terminal sees it: its address (--club), a link that remembers how
each exchange ended, and the sign-on a terminal makes after power-up, reported in words.

    host, port = parse_club("10.0.0.5:8583")       # ClubAddressError: one line for the user
    link = WatchedLink(TcpClubLink(host, port))      # handed to the engine like the link itself
    report = sign_on(engine, link, 3)                # {"outcome", "response_code", "message"}

Why a watched link: the engine only learns "no answer" (agent/club.py NoResponse), which is
all a terminal can act on. A person needs to know more: a club that closes the connection on
the first message without answering does not know the terminal's initial key id (the club's
log says "unknown initial key id"), which is not the same as a club that is down or slow.
"""

import socket

from agent.links import LinkDown, LinkTimeout
from agent.protocol import messages as m
from simulator.club_server import seed

PROBE_TIMEOUT_S = 2.0
EXAMPLE = "e.g. 127.0.0.1:8583"


class ClubAddressError(ValueError):
    """A --club value that names no club: malformed, or nothing answers there."""


def parse_club(text):
    """(host, port) of a --club value HOST:PORT ([IPv6]:PORT; no host: this machine).

    >>> parse_club("10.0.0.5:8583")
    ('10.0.0.5', 8583)
    >>> parse_club("[::1]:8583")
    ('::1', 8583)
    >>> try:
    ...     parse_club("club.example")
    ... except ClubAddressError as e:
    ...     print(e)
    --club 'club.example': no port; expected HOST:PORT, e.g. 127.0.0.1:8583
    """
    value = (text or "").strip()
    host, colon, port = value.rpartition(":")
    if not colon:
        raise ClubAddressError(f"--club {text!r}: no port; expected HOST:PORT, {EXAMPLE}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit():
        raise ClubAddressError(
            f"--club {text!r}: port {port!r} is not a number; expected HOST:PORT, {EXAMPLE}"
        )
    number = int(port)
    if not 1 <= number <= 65535:
        raise ClubAddressError(f"--club {text!r}: port {number} is not in 1..65535")
    if any(c.isspace() for c in host):
        raise ClubAddressError(f"--club {text!r}: a host name has no spaces")
    return host or "127.0.0.1", number


def probe_club(host, port, timeout_s=PROBE_TIMEOUT_S):
    """Fail fast: ClubAddressError with the cause when nothing accepts a connection there."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except socket.gaierror as e:
        raise ClubAddressError(f"--club {host}:{port}: cannot resolve {host!r}: {e}") from None
    except OSError as e:
        raise ClubAddressError(f"--club {host}:{port}: no club answers there: {e}") from None


def describe(error):
    """What a link error means, in words."""
    if isinstance(error, LinkTimeout):
        return f"the club did not answer in time ({error})"
    if not error.sent:
        return f"the club cannot be reached ({error})"
    if "closed by the host" in str(error):
        return "the club closed the connection without answering"
    return f"the connection to the club broke ({error})"


class WatchedLink:
    """A club link (agent/links/tcp.py) that keeps how its exchanges ended.

    `answered` counts frames received; `problem` is the last failure in words (None after
    forget()), `closed` how many times the club closed the connection instead of answering."""

    def __init__(self, link):
        self.link = link
        self.answered = 0
        self.closed = 0
        self.problem = None

    @property
    def host(self):
        return self.link.host

    @property
    def port(self):
        return self.link.port

    def exchange(self, payload, timeout_ms):
        return self._watch(self.link.exchange, payload, timeout_ms)

    def receive(self, timeout_ms):
        return self._watch(self.link.receive, timeout_ms)

    def _watch(self, call, *args):
        try:
            data = call(*args)
        except (LinkTimeout, LinkDown) as e:
            self.problem = describe(e)
            if isinstance(e, LinkDown) and "closed by the host" in str(e):
                self.closed += 1
            raise
        self.answered += 1
        return data

    def forget(self):
        """Start a new flow: problems of earlier ones no longer explain anything."""
        self.problem = None

    def close(self):
        self.link.close()


def explain(result, link):
    """Why a flow got no answer, when the link saw it (None otherwise)."""
    if result.get("response_code") is None and link.problem:
        return link.problem
    return None


def sign_on(engine, link, number):
    """The terminal's sign-on (0800, field 70 001; docs/protocol.md 5.9), as a report:
    outcome approved / declined / failed, response_code, reason (the same words for every
    terminal, to count alike failures) and message (the reason with this terminal's names)."""
    terminal_id, ikid = seed.terminal_identity(number)
    merchant_id = engine.config["merchant_id"]
    answered_before = link.answered
    link.forget()
    rc = engine.sign_on()
    report = {"flow": "sign_on", "response_code": rc, "amount": 0}
    detail = ""
    if rc == m.APPROVED:
        outcome, reason = "approved", "approved (00)"
    elif rc == m.INVALID_TERMINAL:
        outcome, reason = "declined", "refused (03, terminal not registered)"
        detail = f": the club has no active terminal {terminal_id} at merchant {merchant_id}"
    elif rc == m.SECURITY_VIOLATION:
        outcome, reason = "declined", "refused (63, security error)"
        detail = (
            f": the club could not verify the message, or has seen this key counter of "
            f"terminal {terminal_id} already: another copy of the terminal (another --data-dir; "
            f"vafa demo and vafa emulator keep their own) went further; use that one's "
            f"--data-dir, or a freshly seeded club"
        )
    elif rc is not None:
        text = m.RESPONSE_CODES.get(rc, ("", "declined"))[1]
        outcome, reason = "declined", f"refused ({rc}, {text})"
    elif link.closed and link.answered == answered_before == 0:
        outcome = "failed"
        reason = (
            "no answer: the club closed the connection on the first message without answering "
            "(it does not know the terminal's initial key id, or could not read the message)"
        )
        detail = (
            f": initial key id {ikid} of terminal {terminal_id}; register the terminal there "
            f"(vafa club-server seed-demo, add-terminals); the club's log says which"
        )
    else:
        outcome, reason = "failed", f"no answer: {link.problem or 'no reason seen'}"
    report.update(outcome=outcome, reason=reason, message=reason + detail)
    return report
