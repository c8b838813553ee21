"""The host link's gateway (docs/hostlink.md): a device's one serial line on one side, TCP
connections on the other. The device opens channels to services (club, bank, display, ...) and
the gateway connects for it; cashiers and virtual cards connect to the gateway's listeners and
the gateway opens channels to the device.

    from simulator.gateway import Gateway, SocketLine
    with Gateway(SocketLine("127.0.0.1", qemu_port), services) as gw:
        gw.wait_up()

    python -m simulator.gateway --line tcp:127.0.0.1:4444 \\
        --service club=connect:127.0.0.1:9000 --service ecr=listen:127.0.0.1:7000

gateway.py is the loop, lines.py the ways to reach the device's line (and FaultyLine, a line
that loses, damages and cuts). The link's state machine is agent/hostlink/link.py, the same
code as the device's end.
"""

from simulator.gateway.gateway import Gateway, GatewayError
from simulator.gateway.lines import FaultyLine, PtyLine, SocketLine

__all__ = ["FaultyLine", "Gateway", "GatewayError", "PtyLine", "SocketLine"]
