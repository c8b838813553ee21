"""Why a port could not be opened, in words: shared by `vafa bridge` (hostbridge/transport.py)
and `vafa flash` (flashing/device.py), which open the same kinds of ports through pyserial
(a serial device or pty path, socket://HOST:PORT).

    kind, sentence = open_problem("/dev/ttyUSB9", error)     # ("missing", "no such port ...")

Kinds: missing (no such path), hostport (a HOST:PORT written without socket://), refused
(nothing listens there), unresolved (no such host), timeout (no answer to the connection),
busy (another program holds the port), permission, other.
"""

import errno
import re
import socket

_HOSTPORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$")


def looks_like_hostport(url):
    """'10.0.0.7:9100' or 'localhost:9100': a TCP address written as if it were a path."""
    return "://" not in url and "/" not in url and bool(_HOSTPORT.match(url))


def serial_ports():
    """The serial ports this machine has (device paths), or [] when they cannot be listed."""
    try:
        from serial.tools import list_ports

        return sorted(p.device for p in list_ports.comports())
    except Exception:  # listing is a hint only; any failure means no hint
        return []


def _causes(error):
    """The error and what it was raised from or during (pyserial wraps the OSError)."""
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _errno(error):
    for e in _causes(error):
        if isinstance(e, OSError) and e.errno:
            return e.errno
        if e.args and isinstance(e.args[0], int):  # SerialException(errno, text)
            return e.args[0]
        found = re.search(r"\[Errno (\d+)\]", str(e))
        if found:
            return int(found.group(1))
    return None


def open_problem(url, error):
    """(kind, sentence) for an error raised opening `url`."""
    causes = _causes(error)
    text = str(error)
    code = _errno(error)
    if url.startswith("socket://"):
        address = url[len("socket://") :].split("?")[0]
        if any(isinstance(e, socket.gaierror) for e in causes):
            host = address.rpartition(":")[0]
            return "unresolved", f"{url}: no such host {host!r}"
        if code == errno.ECONNREFUSED or any(isinstance(e, ConnectionRefusedError) for e in causes):
            return "refused", f"{url}: nothing listens at {address} (connection refused)"
        if any(isinstance(e, TimeoutError) for e in causes) or "timed out" in text:
            return "timeout", f"{url}: no answer from {address} (the connection timed out)"
        if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "refused", f"{url}: {address} cannot be reached (no route)"
        return "other", f"{url}: {_short(error)}"
    if "://" not in url and code == errno.ENOENT:
        if looks_like_hostport(url):
            return "hostport", (
                f"{url}: no such serial port; for a TCP address write socket://{url}"
            )
        ports = serial_ports()
        listed = f"serial ports here: {', '.join(ports)}" if ports else "no serial ports found"
        return "missing", f"{url}: no such port ({listed})"
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return "busy", f"{url}: in use by another program (close it, then try again)"
    if code == errno.EACCES or code == errno.EPERM:
        return "permission", (
            f"{url}: no permission to open it (add this user to the port's group, e.g. dialout)"
        )
    return "other", f"{url}: {_short(error)}"


def _short(error):
    """The operating system's words for the cause when there are any ('no such file or
    directory'), else the error's own."""
    for e in _causes(error):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror.lower()
    return str(error)
