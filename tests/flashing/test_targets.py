"""The target registry; the ESP32 base image made offline with esptool merge-bin."""

import subprocess
import sys

import pytest

from flashing import targets
from tests.flashing.support import REPO


def test_registry():
    assert set(targets.TARGETS) == {"unix", "esp32"}
    assert targets.get("unix").mpremote_prefix("/dev/pts/3") == ["connect", "/dev/pts/3", "resume"]
    assert targets.get("esp32").mpremote_prefix("/dev/ttyUSB0") == ["connect", "/dev/ttyUSB0"]
    assert dict(targets.get("esp32").root_files)["main.py"] == targets.MAIN_PY
    with pytest.raises(targets.TargetError, match="unknown target"):
        targets.get("stm32")
    with pytest.raises(targets.TargetError, match="no base firmware"):
        targets.get("unix").base_firmware("x.bin")


def test_esp32_base_image_offline(tmp_path):
    firmware = tmp_path / "ESP32_GENERIC.bin"
    payload = bytes([0xE9]) + bytes(range(256)) * 16  # an image starts with the 0xE9 magic
    firmware.write_bytes(payload)
    out = subprocess.run(
        [sys.executable, "-m", "vafa.cli", "flash", "base-image", "--firmware", str(firmware),
         "--out", str(tmp_path / "merged.bin")],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    merged = (tmp_path / "merged.bin").read_bytes()
    assert merged[:0x1000] == b"\xff" * 0x1000  # padding up to the app offset
    assert merged[0x1000 : 0x1000 + len(payload)] == payload
    assert "write-flash 0x0" in out.stdout
