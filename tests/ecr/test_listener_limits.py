"""The terminal's ECR listener against cashiers that stall or flood (docs/ecr.md 2.1): a
cashier that never reads cannot stop the terminal's loop (the write gives up after its timeout
and the connection is dropped), a flood of commands without ACKs queues a bounded number of
answers, and the next cashier is served. (Half a frame then a stall holds nothing already: the
frame is abandoned after T0, tests/portable/test_ecr_codec.py.)

Real sockets: the emulator's TcpEcrPort alone, and the emulated terminal behind it.
"""

import socket
import threading
import time

from hostbridge.protocol import build_frame, build_payload
from simulator.pos_emulator.ecr_port import TcpEcrPort
from tests.ecr.support import RawCashier

MAX_WAITING = 8  # agent/ecr/server.py


def test_a_cashier_that_never_reads_cannot_stall_a_write():
    port = TcpEcrPort("127.0.0.1", 0, write_timeout_s=0.5)
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(port.address)
    try:
        deadline = time.monotonic() + 5
        while port.generation == 0:  # accepted
            assert time.monotonic() < deadline
            port.read(50)
        failed = []

        def write_forever():
            try:
                for _ in range(2000):  # 128 MB: far more than any socket buffer
                    port.write(bytes(65536))
            except OSError as e:
                failed.append(e)

        start = time.monotonic()
        writer = threading.Thread(target=write_forever, daemon=True)
        writer.start()
        writer.join(5)
        assert failed, "the write blocked"
        assert time.monotonic() - start < 3.0
        assert port.conn is None  # the cashier that did not read is dropped
        with socket.create_connection(port.address, timeout=5) as next_cashier:
            while port.generation == 1:
                port.read(50)
            next_cashier.sendall(b"\x15")
            assert port.read(1000) == b"\x15"
            port.write(b"\x06\x01\xfe")
            assert next_cashier.recv(10) == b"\x06\x01\xfe"
    finally:
        lazy.close()
        port.close()


def test_a_flood_of_commands_without_acks_holds_a_bounded_queue(emulator_tcp):
    address = emulator_tcp.cashier.split("//")[1].rsplit(":", 1)
    flood = b"".join(
        build_frame(build_payload(n % 255 + 1, "status", {"invoice": f"F-{n}"}))
        for n in range(2000)
    )
    with socket.create_connection((address[0], int(address[1])), timeout=5) as sock:
        sock.sendall(flood)  # and no ACK, ever
        server = emulator_tcp.world.server
        deadline = time.monotonic() + 20
        while server.dropped < 2000 - 1 - MAX_WAITING:
            assert time.monotonic() < deadline, f"dropped {server.dropped}"
            assert len(server.link.queue) <= MAX_WAITING
            time.sleep(0.05)
        assert len(server.link.queue) <= MAX_WAITING
    assert any("dropping" in line for line in emulator_tcp.lines)
    cashier = RawCashier(emulator_tcp.cashier)  # the next cashier is served as ever
    try:
        cashier.send(1, "status", invoice="INV-NONE")
        answer = cashier.answer()
        assert answer["type"] == 0x85 and answer["fields"]["result"] == "12"
    finally:
        cashier.close()
