"""python -m simulator.gateway: the host link's gateway for one device (docs/hostlink.md).

    python -m simulator.gateway --line tcp:127.0.0.1:4444 \\
        --service club=connect:127.0.0.1:8583 --service bank=connect:127.0.0.1:9100 \\
        --service ecr=listen:127.0.0.1:7000

--line is the device's serial line: tcp:HOST:PORT (QEMU's -serial tcp:...,server=on) or a
pty/tty path. --start CODE (tcp lines) types CODE at the board's raw REPL first, as a board
without a boot script needs (the emulated MPS2 board: --start board, docs/flashing.md).
Each --service maps a service name to connect:HOST:PORT (the device opens it;
the gateway connects) or listen:HOST:PORT (a peer connects to the gateway; the gateway opens
a channel to the device). The device's console lines and the link's resets are printed.
Exit codes: 0 on Ctrl-C, 2 for bad input (one line on stderr).
"""

import argparse
import sys
import time

from simulator.gateway import Gateway, GatewayError, PtyLine, SocketLine

KINDS = ("connect", "listen")
STARTS = {"board": "import agent.device.board as board\nboard.run('flash.img')\n"}


def service(text):
    name, sep, rest = text.partition("=")
    kind, _, address = rest.partition(":")
    host, _, port = address.rpartition(":")
    if not sep or not name or kind not in KINDS or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=connect:HOST:PORT or NAME=listen:HOST:PORT"
        )
    return name, (kind, host, int(port))


def open_line(text):
    if text.startswith("tcp:"):
        host, _, port = text[4:].rpartition(":")
        return SocketLine(host, int(port))
    return PtyLine(text)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator.gateway", description=__doc__)
    parser.add_argument("--line", required=True, help="tcp:HOST:PORT or a pty/tty path")
    parser.add_argument("--start", metavar="CODE",
                        help="code typed at the raw REPL first ('board': the MPS2 board's "
                             "start)")  # fmt: skip
    parser.add_argument("--service", type=service, action="append", default=[],
                        metavar="NAME=KIND:HOST:PORT")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        line = open_line(args.line)
    except OSError as e:
        print(f"gateway: --line {args.line}: {e.strerror or e}", file=sys.stderr)
        return 2
    try:
        gateway = Gateway(None, dict(args.service), log=print)
    except GatewayError as e:
        print(f"gateway: {e}", file=sys.stderr)
        return 2
    first = b""
    if args.start:
        from simulator.fil.qemu import BoardRepl

        if not isinstance(line, SocketLine):
            print("gateway: --start needs a tcp: line", file=sys.stderr)
            return 2
        line.sock.setblocking(True)
        repl = BoardRepl(line.sock)
        repl.raw()
        repl.send(STARTS.get(args.start, args.start))
        line.sock.setblocking(False)
        first = repl.buf
    gateway.attach(line)
    if first:
        gateway.feed(first)
    with gateway:
        for name, (kind, host, _) in args.service:
            if kind == "listen":
                print(f"{name}: listening on {host}:{gateway.port(name)}")
        try:
            while not line.closed:
                time.sleep(0.2)
        except KeyboardInterrupt:
            return 0
    print("gateway: the device's line closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
