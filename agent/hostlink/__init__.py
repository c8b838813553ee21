"""The host link: a device's connections multiplexed over its one serial line to a gateway on
the host, which opens the TCP connections on its behalf (docs/hostlink.md).

    frame.py     the frames: pure codec (bytes in, values out)
    link.py      the link's state machine: SYNC, go-back-N, channels, windows; no I/O, the
                 clock handed in
    mux.py       the device's driver: a serial port pumped into a Link, channels as streams
    services.py  what the terminal plugs in: the club link, the bank leg's connection, the ECR
                 port, the card reader and the peripheral streams over channels
    stdio.py     the device's serial line when it is the REPL's (sys.stdin / sys.stdout)
    errors.py    HostLinkError and its subclasses

This __init__ imports nothing: an entry point imports what it uses.
"""
