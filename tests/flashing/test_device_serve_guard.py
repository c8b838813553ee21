"""The device's ECR loop on sockets (agent/device/peripherals.py serve) when an exception
escapes it between commands (a MemoryError on a board): one console line without card data,
and the loop goes on answering the cashier (agent/device/guard.py). Real sockets on loopback;
the engine is the ECR session tests' recording one."""

import socket
import time

from agent.device import peripherals
from agent.ecr import spec
from agent.ecr.frame import Scanner, ack, encode_frame
from agent.ecr.message import decode_message, encode_message
from tests.portable.test_ecr_edges import FailOnce
from tests.portable.test_serve_guard import Box, IdleEngine
from tests.ports import closed_port


def test_an_error_between_commands_does_not_end_the_socket_loop(capsys):
    engine = IdleEngine()
    engine.idle = FailOnce(engine.idle, MemoryError("memory allocation failed"))
    port = closed_port()
    state = {"turns": 0, "cashier": None, "answers": [], "scanner": Scanner()}

    def until():
        state["turns"] += 1
        cashier = state["cashier"]
        if state["turns"] == 40:  # after the loop's idle work failed once (turn 20)
            cashier = state["cashier"] = socket.create_connection(("127.0.0.1", port))
            cashier.settimeout(0.01)
            fields = {"amount": 120000, "invoice": "INV-1", "cashier": "07"}
            cashier.sendall(encode_frame(encode_message(1, 0x01, fields)))
        if cashier is not None:
            try:
                data = cashier.recv(4096)
            except TimeoutError:
                data = b""
            for kind, value in state["scanner"].feed(data, 0):
                if kind == "frame":
                    msg = decode_message(value)
                    state["answers"].append(msg)
                    cashier.sendall(ack(msg["seq"]))
        return bool(state["answers"]) or state["turns"] > 2000

    started = time.monotonic()
    try:
        peripherals.serve(Box(engine), {"ecr": f"listen:127.0.0.1:{port}"}, until=until)
    finally:
        if state["cashier"] is not None:
            state["cashier"].close()
    assert time.monotonic() - started < 60
    assert [a["fields"]["result"] for a in state["answers"]] == [spec.APPROVED]
    out = capsys.readouterr().out
    assert "VAFA-ERROR MemoryError outside a command: still serving" in out
    assert out.count("VAFA-ERROR") == 1
