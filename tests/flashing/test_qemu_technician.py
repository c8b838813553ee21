"""The technician's flow against the emulated Arm board, over its one serial line (QEMU's UART
as a TCP socket, `socket://` for mpremote): mount the flash, `vafa flash install` (loader,
keys, the bundle into a slot, the terminal's configuration and key block), `vafa flash verify`
and `vafa flash status`, each command one mpremote connection; then the board is powered up
again and its frozen agent starts from what the technician provisioned and sells.

The board needs `--target unix`, the target that never soft-resets (mpremote `resume`): on
ports/qemu a soft reset unmounts the flash. Without the MicroPython source this skips, except
under CI, where it fails."""

import subprocess
import sys

from simulator.cards import personas as chip
from simulator.club_server.ledger import ledger_check
from simulator.fil.qemu import FLASH, QemuTerminal
from simulator.pos_emulator.terminal import start_demo_club
from tests.flashing.test_fil_qemu import elf  # noqa: F401 (the session's firmware fixture)


class InstalledBoard(QemuTerminal):
    """A board provisioned by the technician's commands instead of the raw REPL."""

    bundle_path = None

    def provision(self, files, kit):
        (kit / "config.json").write_text(files["vafa/config.json"])
        (self.root / "imk").write_text(files["vafa/keys/imk"])
        repl = self._power_on()
        repl.sock.close()  # the line is free for mpremote, one connection per command
        port = f"socket://127.0.0.1:{self.serial_port}"
        self.said = {}
        try:
            mount = f"import agent.device.board as b; b.mount({FLASH!r})"
            self.mpremote("exec", mount)
            bundle = self.bundle_path
            install = ("--port", port, "--target", "unix", "--bundle", bundle, "--terminal", kit)
            self.said["install"] = self.vafa("install", *install)
            self.said["verify"] = self.vafa("verify", "--port", port, "--bundle", self.bundle_path)
            self.said["status"] = self.vafa("status", "--port", port)
            self.mpremote("fs", "cp", str(self.root / "imk"), ":vafa/keys/imk")
        finally:
            self._power_off()

    def mpremote(self, *args):
        port = f"socket://127.0.0.1:{self.serial_port}"
        run = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "resume", *args],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == 0 and "Traceback" not in run.stdout, run.stdout + run.stderr
        return run.stdout

    def vafa(self, *args):
        argv = [sys.executable, "-m", "vafa", "flash", *map(str, args)]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=self.root)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout


def test_install_verify_status_over_the_boards_serial_line_then_a_sale(tmp_path, bundle, elf):  # noqa: F811
    InstalledBoard.bundle_path = bundle.path
    club = start_demo_club(tmp_path / "club.db", fresh=True)
    try:
        with InstalledBoard(tmp_path / "terminal", club.port, elf) as board:
            said = board.said
            assert f"installed {bundle.version} in slot a on socket://" in said["install"]
            assert "keys: vafa/keys/fw, vafa/keys/kbpk (TEST ONLY demo keys)" in said["install"]
            assert said["verify"].startswith(f"ok: {len(bundle.files)} files on the device")
            status = dict(line.split(None, 1) for line in said["status"].splitlines() if line)
            assert status["version"] == bundle.version and status["terminal_id"] == "VT000001"
            assert status["slot"] == "a" and status["pending"] == "True"
            # powered up again: the frozen agent runs on what the technician provisioned
            board.card.insert(chip.make_card("active"))
            answer = board.ecr.sale(20000, invoice="TECH-1", cashier="07", method="club")
            assert answer.ok and answer.terminal_id == "VT000001", answer.fields
        assert club.call(ledger_check).ok
    finally:
        club.stop()
