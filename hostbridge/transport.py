"""Byte transports for the ECR link, all through pyserial's URL handlers (one interface):

    /dev/ttyUSB0, COM3, /tmp/vafa-ecr    a serial port or a pty (socat), at `baudrate`
    socket://HOST:PORT                   TCP: the terminal listens, we connect
    loop://                              pyserial's loopback: what is written is read back

read(timeout) returns what arrived within timeout seconds (b"" when nothing); a port that broke
raises LinkError and is closed, and the next read or write opens it again (a terminal that
closed an idle TCP connection, a USB cable pulled and plugged back). A port that cannot be
opened raises PortError at once, with the cause in words (vafa/ports.py: no such port, nothing
listens there, a HOST:PORT without socket://, busy, no permission).
"""

import contextlib
import socket

import serial

from hostbridge.errors import LinkError, PortError

READ_CHUNK = 4096


class Transport:
    def __init__(self, url, baudrate=115200):
        self.url = url
        self.baudrate = baudrate
        self.port = None
        self.opens = 0

    @property
    def is_serial_line(self):
        """A real line with a bit rate (a frame's wire time adds to the ACK timer)."""
        return "://" not in self.url

    @property
    def bits_per_s(self):
        return self.baudrate if self.is_serial_line else None

    def open(self):
        if self.port is not None:
            return
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0)
        except (serial.SerialException, OSError, ValueError) as e:
            from vafa.ports import open_problem

            raise PortError(f"cannot open {open_problem(self.url, e)[1]}") from None
        self.opens += 1
        sock = getattr(self.port, "_socket", None)  # socket://: pyserial leaves Nagle on
        if sock is not None:
            with contextlib.suppress(OSError):
                # our ACK and the next command are small writes back to back: with Nagle's
                # algorithm the second waits for the peer's delayed ACK (~40 ms on Linux)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        port, self.port = self.port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def read(self, timeout):
        self.open()
        try:
            self.port.timeout = timeout
            data = self.port.read(1)
            if data:
                # then whatever else is there, without waiting (socket://'s in_waiting says
                # only 0 or 1, so it is not asked)
                self.port.timeout = 0
                data += self.port.read(READ_CHUNK)
            return data
        except (serial.SerialException, OSError) as e:
            self.close()
            raise LinkError(f"{self.url}: {e}") from None

    def write(self, data):
        self.open()
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as e:
            self.close()
            raise LinkError(f"{self.url}: {e}") from None
