"""No silent waits on the cashier's side: a port that cannot be opened fails at once with its
cause and says the command was never sent (exit 3); a port where nothing answers is asked about
for --timeout, not a minute, says so while it waits, and ends with "sent, outcome unknown"
(exit 4); values are refused in the cashier's words before anything is sent, on the command
line and in HTTP 400 bodies; output into a closed pipe is quiet. Real sockets and socat ptys.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from hostbridge.client import EcrClient
from hostbridge.errors import MessageError, NoAck, PortError
from hostbridge.link import Timers
from hostbridge.web import make_server
from tests.ecr.support import REPO, need_program
from tests.ecr.test_web import call
from tests.ports import closed_port

VAFA = [sys.executable, "-m", "vafa"]


@pytest.fixture
def silent_pty(tmp_path):
    """A pty whose other end is open but never read or written: a cable to nothing."""
    need_program("socat")
    ours, other = tmp_path / "ecr", tmp_path / "other"
    socat = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={ours}", f"pty,raw,echo=0,link={other}"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not ours.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield str(ours)
    socat.terminate()
    socat.wait(5)


@pytest.fixture
def listener():
    """A TCP port that accepts nothing yet: a test can see whether anything connected."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    s.settimeout(0.3)
    yield s
    s.close()


def bridge(*args, timeout=60):
    env = {k: v for k, v in os.environ.items() if k != "VAFA_ECR_PORT"}
    start = time.monotonic()
    done = subprocess.run([*VAFA, "bridge", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    return done, time.monotonic() - start


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("socket://127.0.0.1:{closed}", "nothing listens at 127.0.0.1:{closed} (connection"),
        ("{tmp}/ttyUSB9", "no such port"),
        ("127.0.0.1:{closed}", "no such serial port; for a TCP address write socket://"),
        ("socket://no-such-host.invalid:9100", "no such host 'no-such-host.invalid'"),
    ],
)
def test_a_port_that_cannot_be_opened_fails_at_once_never_sent(url, cause, tmp_path):
    closed = closed_port()
    url = url.format(closed=closed, tmp=tmp_path)
    cause = cause.format(closed=closed)
    start = time.monotonic()
    # the default timers: recovery would ask for a minute if the sale had gone out
    with EcrClient(url) as ecr, pytest.raises(PortError) as caught:
        ecr.sale(1000, "INV-1", "1")
    assert time.monotonic() - start < 1.5
    assert caught.value.sent is False and cause in str(caught.value)

    done, seconds = bridge("sale", "1000", "--invoice", "INV-1", "--port", url, "--json")
    assert seconds < 3 and done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1 and "the sale was not sent" in done.stderr
    answer = json.loads(done.stdout)
    assert answer["sent"] is False and answer["kind"] == "PortError" and cause in answer["error"]


def test_sent_without_an_answer_honours_timeout_and_says_so(silent_pty):
    done, seconds = bridge("sale", "1000", "--invoice", "INV-7", "--port", silent_pty,
                           "--timeout", "2", "--json")  # fmt: skip
    # 3 transmissions without an ACK (3 s), then status inquiries for --timeout (2 s), of which
    # the last may end one ACK cycle late: well under the minute it used to take
    assert done.returncode == 4 and seconds < 12, (seconds, done.stderr)
    lines = done.stderr.splitlines()
    assert "asking the terminal for its status (for up to 2 s)" in lines[0]  # not silent
    assert "sale INV-7 was sent, but no ACK from the terminal" in lines[-1]
    assert "its outcome is unknown" in lines[-1]
    assert f"vafa bridge status INV-7 --port {silent_pty}" in lines[-1]
    answer = json.loads(done.stdout)
    assert answer["sent"] is True and answer["kind"] == "NoAck" and answer["exit_status"] == 4


def test_a_command_not_kept_is_not_asked_about(silent_pty):
    timers = Timers(ack_s=0.2)
    with EcrClient(silent_pty, timers=timers) as ecr, pytest.raises(NoAck) as caught:
        ecr.balance()
    assert caught.value.sent is True


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"amount": -5}, "amount must be a positive whole number of rials"),
        ({"amount": 0}, "amount must be a positive whole number of rials, not 0"),
        ({"amount": "1000"}, "amount must be a positive whole number of rials, not '1000'"),
        ({"amount": 1.5}, "amount must be a positive whole number of rials, not 1.5"),
        ({"amount": 10**12}, "amount must be at most 12 digits (999,999,999,999 rials)"),
        ({"invoice": "x" * 21}, "invoice must be 1 to 20 printable ASCII characters"),
        ({"cashier": ""}, "cashier must be 1 to 16 printable ASCII characters"),
        ({"method": "bitcoin"}, "method must be one of bank, club, store, cash"),
    ],
)
def test_http_400_speaks_the_cashiers_words_before_sending(body, error, listener):
    port = listener.getsockname()[1]
    client = EcrClient(f"socket://127.0.0.1:{port}")
    server = make_server(client, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        sale = {"amount": 1000, "invoice": "W-1", "cashier": "7", **body}
        status, answer, _ = call(f"http://127.0.0.1:{server.server_port}", "/sale", sale)
        assert status == 400 and error in answer["error"], answer
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing reached the terminal's port


def test_client_checks_every_field_by_name():
    with EcrClient("loop://") as ecr:
        with pytest.raises(MessageError, match="original_rrn must be the purchase's RRN"):
            ecr.refund(100, "R-1", "1", "short")
        with pytest.raises(MessageError, match="seconds must be a whole number of seconds"):
            ecr.show_text("hi", seconds=1000)
        with pytest.raises(MessageError, match="text must be text of 1 to 2048 bytes"):
            ecr.print_text("")


def test_bridge_output_into_a_closed_pipe(emulator_tcp):
    # `vafa bridge status ... | head -5` when head has gone: no BrokenPipeError traceback
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [*VAFA, "bridge", "status", "NONE", "--port", emulator_tcp.cashier],
            stdout=write, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == ""


def test_serve_refuses_a_port_it_cannot_open():
    closed = closed_port()
    done, seconds = bridge("serve", "--port", f"socket://127.0.0.1:{closed}", "--listen",
                           "127.0.0.1:0")  # fmt: skip
    assert done.returncode == 3 and seconds < 3
    assert "connection refused" in done.stderr and done.stderr.count("\n") == 1
