"""The ECR link, terminal side: cashier (ECR) software drives the terminal (docs/ecr.md).

Pure and portable (MicroPython and CPython); nothing here imports serial or sockets.

    spec     the protocol as data: bytes, commands, tags and their types, result codes, timers
    frame    STX | length | payload | ETX | CRC-16: encode, decode, and the incremental Scanner
    message  the payload: sequence number, type, TLV fields by name
    link     ACK/NAK, retransmission, duplicates, timers (sans-I/O: bytes and ticks in, bytes out)
    store    results by invoice number on the storage port, for status inquiries after a loss
    session  commands -> the transaction engine; busy; one run per invoice
    server   an ECR port + the link + the session, polled by the entry point's loop
"""
