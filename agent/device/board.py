"""The emulated Arm board (QEMU MPS2 AN385, the firmware of `vafa flash firmware --board
mps2-an385`): its flash, clock and random source, and its start.

    import agent.device.board as board
    board.run()            # what the gateway types at the board's REPL after power-up

- Flash: littlefs (MicroPython's VfsLfs2) on a block device whose blocks live in a host file,
  read and written through Arm semihosting (the firmware's `semihost` module,
  flashing/cmodules/semihost). Mounted at "/"; formatted only while the image is blank (its
  first blocks erased, every byte FF), never because a mount failed. Every block write is in
  the host file when the semihosting call returns, so killing QEMU at any instant is a power
  cut that littlefs is built for (copy-on-write, atomic rename): the journal, the STAN and
  the DUKPT state survive it.
- Clock: the host's (SYS_TIME) is the board's real-time clock; timers run on time.ticks_ms.
- Random source: the host's /dev/urandom, read through semihosting, is the board's TRNG (the
  port's `os` has no urandom, and its mp_hal_get_random is an LCG that starts from the same
  state at every boot).
- The host link on UART0, the REPL's line (agent/device/hostwire.py, docs/hostlink.md).

Every function here needs the firmware's `semihost` module; importing this module does not.
"""

from agent.ports import SystemClock

FLASH = "vafa-flash.img"  # the image, in QEMU's working folder unless a path is given
BLOCK = 4096
BLOCKS = 256  # 1 MB
ERASED = 0xFF
OPEN_RW, OPEN_NEW, OPEN_READ = 3, 7, 1  # SYS_OPEN modes "r+b", "w+b", "rb"
IOCTL = {4: "blocks", 5: "block_size"}  # the block protocol's counts; others succeed (0)


class BoardError(OSError):
    """The board cannot start: its flash does not mount (and is not blank)."""


class HostFileFlash:
    """A block device (MicroPython's extended block protocol) over a host file."""

    def __init__(self, path=FLASH, blocks=BLOCKS, block_size=BLOCK):
        import semihost

        self.host = semihost
        self.blocks = blocks
        self.block_size = block_size
        try:
            self.handle = semihost.open(path, OPEN_RW)
        except OSError:  # no image yet: an erased chip
            self.handle = semihost.open(path, OPEN_NEW)
            erased = bytes((ERASED,)) * block_size
            for _ in range(blocks):
                semihost.write(self.handle, erased)
        if semihost.flen(self.handle) < blocks * block_size:
            raise BoardError("flash image " + path + " is smaller than " + str(blocks) + " blocks")

    def readblocks(self, block, buf, offset=0):
        self.host.seek(self.handle, block * self.block_size + offset)
        self.host.read(self.handle, buf)

    def writeblocks(self, block, buf, offset=None):
        self.host.seek(self.handle, block * self.block_size + (offset or 0))
        self.host.write(self.handle, buf)

    def ioctl(self, op, arg):
        name = IOCTL.get(op)
        return getattr(self, name) if name else 0

    def blank(self):
        """True while the first two blocks are erased: never formatted."""
        buf = bytearray(self.block_size)
        erased = bytes((ERASED,)) * self.block_size
        for block in (0, 1):
            self.readblocks(block, buf)
            if buf != erased:
                return False
        return True


def mount(path=FLASH, blocks=BLOCKS):
    """littlefs from the image at `path` mounted at "/" (formatted first only when blank);
    the working folder is then "/", where agent/firmware/provision.py finds vafa/."""
    import os

    import vfs

    flash = HostFileFlash(path, blocks)
    if flash.blank():
        vfs.VfsLfs2.mkfs(flash)
    try:
        vfs.mount(vfs.VfsLfs2(flash), "/")
    except OSError as e:
        raise BoardError("flash " + path + " does not mount (" + str(e) + "); not formatted")
    os.chdir("/")
    return flash


class BoardClock(SystemClock):
    """The host's clock as the board's real-time clock; ticks as SystemClock's."""

    def now(self):
        import semihost

        return semihost.time()


class HostEntropy:
    """rng(n) -> n bytes of the host's /dev/urandom (the board's TRNG)."""

    def __init__(self, path="/dev/urandom"):
        import semihost

        self.host = semihost
        self.handle = semihost.open(path, OPEN_READ)

    def __call__(self, n):
        buf = bytearray(n)
        got = self.host.read(self.handle, buf)
        if got != n:
            raise OSError("entropy source gave " + str(got) + " of " + str(n) + " bytes")
        return bytes(buf)


MANIFEST = {"name": "vafa-agent", "entry": "agent.device.main", "frozen": True}


def run(path=FLASH, blocks=BLOCKS, serve=True):
    """Mount the flash, start the terminal over the host link (vafa/config.json has
    "hostlink"), recover, and serve the cashier; returns only when serve is False."""
    from agent.device import main

    mount(path, blocks)
    return main.start(MANIFEST, lambda: None, serve=serve, rng=HostEntropy(), clock=BoardClock())
