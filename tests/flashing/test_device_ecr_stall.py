"""The device's ECR listener (agent/device/peripherals.py SocketEcrPort) against a cashier that
sends but never reads: a write gives up after WRITE_TIMEOUT_MS instead of blocking the device's
loop for ever (docs/ecr.md 2.1). Real sockets on loopback."""

import socket
import time

from agent.device import peripherals


def test_a_cashier_that_never_reads_cannot_stall_the_device():
    port = peripherals.SocketEcrPort("127.0.0.1", 0)
    host, number = port.listener.getsockname()
    cashier = socket.create_connection((host, number))
    cashier.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        assert port.read(2000) == b""  # the connection is accepted
        port.conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        port.conn.settimeout(10)  # a guard for this test only: without the fix it hung for ever
        frame = b"\x02" + bytes(1000) + b"\x03"
        started = time.monotonic()
        error = None
        for _ in range(10_000):  # far more than both buffers hold
            try:
                port.write(frame)
            except OSError as e:
                error = e
                break
        waited = time.monotonic() - started
        assert error is not None and "write timed out" in str(error)
        assert waited < peripherals.WRITE_TIMEOUT_MS / 1000 + 3
        assert port.conn is None  # dropped: the next cashier may connect
    finally:
        cashier.close()
        port.listener.close()
