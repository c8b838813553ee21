"""`vafa flash firmware`: MicroPython built from source with the agent frozen in, both boards.

Each board is built once per session through the command line into a session cache (cold: make
runs; every later build of the same inputs must come from the cache). The unix-x86 binary runs a
cash purchase with nothing on sys.path but `.frozen`; the mps2-an385 image boots under QEMU and
imports the engine through its raw REPL. The source comes from VAFA_MICROPYTHON_SRC (`./run.sh
test` points it at ../shared/micropython): without it these tests skip, except under CI, where
they fail. With it, a missing toolchain or QEMU is a failure naming the package.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flashing import bundle as bundles
from flashing import firmware
from simulator.fil.qemu_pipes import QemuPipes
from vafa.cli import main

SOURCE = os.environ.get(firmware.ENV_SOURCE)
ZERO_AES = "66e94bd4ef8a2c3b884cfa59ca342b2e"  # AES-128(key 0, block 0), FIPS-197 known answer
# The modules the sale and the QEMU imports touch: the engine and what a sale runs through.
ENGINE = ("agent.engine", "agent.flows", "agent.steps", "agent.club", "agent.saf",
          "agent.recovery", "agent.protocol.iso8583", "agent.protocol.dukpt",
          "agent.protocol.crypto")  # fmt: skip
# vafa-t1 has a character LCD: the pixel panel's driver is left out of its firmware, and the
# loader (agent/boot.py) is never frozen.
LEFT_OUT = ("agent.display.pixel", "agent.boot")
UNIX_HEAP = 131072  # the frozen agent's sale ran from 48 KB when this was written


def need_source():
    if SOURCE:
        return SOURCE
    message = f"{firmware.ENV_SOURCE} is not set (./run.sh test sets it to ../shared/micropython)"
    if os.environ.get("CI"):
        pytest.fail("CI must build the firmware: " + message)
    pytest.skip(message)


def vafa(*args, env=None):
    """`vafa flash firmware ARGS` in a child process (what a technician runs)."""
    return subprocess.run(
        [sys.executable, "-m", "vafa", "flash", "firmware", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("firmware-cache")


_BUILT = {}


def built(board, cache):
    """(json answer, seconds) of the session's first build of `board`."""
    if board not in _BUILT:
        src = need_source()
        started = time.monotonic()
        run = vafa("--board", board, "--micropython-src", src, "--out", str(cache), "--json")
        assert run.returncode == 0, run.stdout + run.stderr
        answer = json.loads(run.stdout.splitlines()[-1])
        _BUILT[board] = answer, time.monotonic() - started
    return _BUILT[board]


@pytest.fixture(scope="session")
def unix_x86(cache):
    return built("unix-x86", cache)[0]


@pytest.fixture(scope="session")
def mps2(cache):
    return built("mps2-an385", cache)[0]


# -- unix-x86 ----------------------------------------------------------------------------------

SALE = """
import sys
sys.path[:] = [".frozen"]  # no folder: every agent module must come from the firmware
import binascii, gc
from agent.engine import Engine
from agent.ports import (Card, ManualClock, MemoryStorage, RecordingDisplay, RecordingPrinter,
                         ScriptedCardReader, ScriptedKeypad)
from agent.protocol import messages as m
from agent.protocol import protect
from agent.protocol.dukpt import HostDukpt, TerminalDukpt, derive_initial_key
from agent.storage import BlobStore
BDK = binascii.unhexlify("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = binascii.unhexlify("1234567890123456")
class Club:
    # the club's side in the same process: opens each request, approves it, seals the answer
    def __init__(self):
        self.host = HostDukpt(BDK)
        self.mtis = []
    def exchange(self, payload, timeout_ms):
        msg, secrets, keys = protect.open_sealed(payload, self.host.keys_for)
        self.mtis.append(msg["t"])
        out = {"t": m.RESPONSE_MTI[msg["t"]], "39": "00", "37": "000000000001", "38": "A00001"}
        for k in ("3", "4", "7", "11", "42", "49", "70", "90"):
            if k in msg:
                out[k] = msg[k]
        return protect.seal(out, keys, protect.RESPONSE)
    def receive(self, timeout_ms):
        raise OSError("no answer")
    def close(self):
        pass
storage = MemoryStorage()
dukpt = TerminalDukpt(BlobStore(storage, "dukpt"))
dukpt.load_initial_key(derive_initial_key(BDK, IKID), IKID)
club = Club()
config = {"terminal_id": "T0000001", "merchant_id": "M00000000000001",
          "storage_key": bytes(range(16)), "merchant_name": "Firmware test"}
reader = ScriptedCardReader([Card("98791121234567890", "2812")])
engine = Engine(club, None, reader, ScriptedKeypad(), RecordingDisplay(), RecordingPrinter(),
                ManualClock(), storage, config, dukpt=dukpt)
engine.recover()
res = engine.purchase_cash(450000)
gc.collect()
print("SALE", res["outcome"], res["confirmed"], " ".join(club.mtis))
print("HEAP", gc.mem_alloc(), gc.mem_free())
import cryptolib
print("AES", binascii.hexlify(cryptolib.aes(bytes(16), 1).encrypt(bytes(16))).decode())
for name in LEFT_OUT:
    try:
        __import__(name)
        print("FROZEN", name)
    except ImportError:
        print("ABSENT", name)
""".replace("LEFT_OUT", repr(LEFT_OUT))


def test_unix_x86_is_a_32_bit_binary_of_the_models_modules(unix_x86):
    head = Path(unix_x86["path"]).read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and head[4] == 1  # ELFCLASS32
    assert int.from_bytes(head[18:20], "little") == 3  # EM_386
    record = json.loads((Path(unix_x86["folder"]) / "build.json").read_text())
    assert record["modules"] == bundles.sources(model="vafa-t1")
    assert unix_x86["modules"] == len(record["modules"])
    assert not unix_x86["cached"] and unix_x86["model"] == "vafa-t1"


def test_unix_x86_runs_a_purchase_from_the_frozen_agent(unix_x86, tmp_path):
    (tmp_path / "sale.py").write_text(SALE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sale.py"]
    run = subprocess.run(
        [unix_x86["path"], "-X", f"heapsize={UNIX_HEAP}", "sale.py"],
        cwd=tmp_path,
        env={"MICROPYPATH": ".frozen", "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line.split(" ", 1) for line in run.stdout.splitlines()]
    said = dict(lines)
    assert said["SALE"] == "approved True 0100 0220"
    assert said["AES"] == ZERO_AES
    assert [name for word, name in lines if word in ("ABSENT", "FROZEN")] == list(LEFT_OUT)
    assert "FROZEN" not in said
    alloc, free = map(int, said["HEAP"].split())
    assert alloc + free <= UNIX_HEAP


# -- mps2-an385 under QEMU --------------------------------------------------------------------


@pytest.fixture
def board(mps2):
    qemu = QemuPipes(mps2["path"])
    try:
        qemu.raw_repl()
        yield qemu
    finally:
        qemu.stop()
    assert qemu.proc.returncode is not None


def test_mps2_an385_imports_the_frozen_engine(board):
    out, err = board.exec(
        "import gc, sys\n"
        f"for name in {ENGINE!r}:\n"
        "    __import__(name)\n"
        "gc.collect()\n"
        "print('MACHINE', sys.implementation._machine)\n"
        "print('HEAP', gc.mem_alloc(), gc.mem_free())\n"
    )
    assert err == ""
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert "Cortex-M3" in lines["MACHINE"]
    alloc, free = map(int, lines["HEAP"].split())
    assert 0 < alloc < 64 * 1024 and free > 64 * 1024  # of the board's 140 KB heap


def test_mps2_an385_codec_and_crypto_run_on_the_board(board):
    # No cryptolib on this board: AES is the agent's pure backend.
    out, err = board.exec(
        "import binascii, sys\n"
        "from agent.protocol import crypto, iso8583\n"
        "msg = {'t': '0800', '11': '000001', '70': '301'}\n"
        "print('ISO', iso8583.decode(iso8583.encode(msg)) == msg)\n"
        "print('AES', binascii.hexlify(crypto.aes_ecb_encrypt(bytes(16), bytes(16))).decode())\n"
        "print('CRYPTOLIB', 'cryptolib' in sys.modules)\n"
    )
    assert err == ""
    assert out.split() == ["ISO", "True", "AES", ZERO_AES, "CRYPTOLIB", "False"]


# -- the cache ---------------------------------------------------------------------------------


def firmware_line(stdout):
    """The line that says which firmware and where it is."""
    return next(line for line in stdout.splitlines() if " firmware (model " in line)


@pytest.mark.parametrize("board_name", ["unix-x86", "mps2-an385"])
def test_second_build_is_instant_and_says_where(board_name, cache):
    first, _ = built(board_name, cache)
    argv = ("--board", board_name, "--micropython-src", SOURCE, "--out", str(cache))
    path = first["path"]
    for _ in range(3):
        started = time.monotonic()
        run = vafa(*argv)
        seconds = time.monotonic() - started
        assert run.returncode == 0, run.stdout + run.stderr
        if ", cached: " in firmware_line(run.stdout):
            break
        # an agent file changed since the last build (someone is editing this tree): a new
        # key, so make ran; the same inputs once more must then come from the cache
        path = firmware_line(run.stdout).rsplit(": ", 1)[1]
    assert firmware_line(run.stdout).endswith(f", cached: {path}"), run.stdout
    assert run.stdout.splitlines()[0] == firmware_line(run.stdout)  # no progress: no make
    assert "\nrun: " in run.stdout and run.stderr == ""
    assert seconds < 10  # python's start and hashing the sources


def test_cache_key_follows_sources_and_options(tmp_path):
    src = tmp_path / "agent"
    (src / "agent").mkdir(parents=True)
    (src / "agent" / "__init__.py").write_text("")
    (src / "agent" / "engine.py").write_text("X = 1\n")
    board = firmware.BOARDS["unix-x86"]
    modules = ["agent/__init__.py", "agent/engine.py"]
    key = firmware.cache_key(board, "snapshot a", {}, modules, src)
    assert key == firmware.cache_key(board, "snapshot a", {}, modules, src)
    assert key != firmware.cache_key(board, "snapshot b", {}, modules, src)
    assert key != firmware.cache_key(board, "snapshot a", {"MICROPY_HEAP_SIZE": "1"}, modules, src)
    assert key != firmware.cache_key(firmware.BOARDS["mps2-an385"], "snapshot a", {}, modules, src)
    (src / "agent" / "engine.py").write_text("X = 2\n")
    assert key != firmware.cache_key(board, "snapshot a", {}, modules, src)


def test_manifest_freezes_the_models_modules_by_package_path():
    modules = firmware.frozen_modules("vafa-t1")
    text = firmware.manifest_text(modules, bundles.REPO, "vafa-t1")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [f"module({m!r}, base_path={str(bundles.REPO)!r})" for m in modules]
    assert "agent/engine.py" in modules and "agent/boot.py" not in modules
    assert "agent/display/pixel.py" not in modules  # vafa-t1's display is the character LCD


# -- bad input: one line, exit 2; a failed build: make's last lines, exit 1 -------------------


def one_line_error(capsys, argv, code=2):
    assert main(["flash", "firmware", *argv]) == code
    said = capsys.readouterr()
    assert said.out == "" and said.err.count("\n") == 1, said.err
    assert said.err.startswith("vafa flash firmware: ")
    return said.err


def test_without_a_source_says_how_to_get_it(capsys, monkeypatch):
    monkeypatch.delenv(firmware.ENV_SOURCE, raising=False)
    err = one_line_error(capsys, ["--board", "unix-x86"])
    assert "--micropython-src DIR or set VAFA_MICROPYTHON_SRC" in err
    assert firmware.PINNED_COMMIT[:12] in err and "git clone" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--board", "z80"], "unknown board 'z80': one of mps2-an385, unix-x86"),
        ([], "--board is required: one of mps2-an385, unix-x86"),
        (["--board", "unix-x86", "--model", "t9"], "unknown model 't9': one of full, vafa-t1"),
        (["--board", "unix-x86", "--option", "HEAP"], "--option 'HEAP': expected NAME=VALUE"),
        (["--board", "unix-x86", "--option", "BUILD=x"], "--option BUILD: set by vafa flash"),
        (["--board", "unix-x86", "--micropython-src", "/nonexistent/mp"], "no such folder"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, expected):
    assert expected in one_line_error(capsys, argv)


def test_a_folder_that_is_not_micropython(capsys, tmp_path):
    err = one_line_error(capsys, ["--board", "mps2-an385", "--micropython-src", str(tmp_path)])
    assert "not a MicroPython source tree (no py/mpconfig.h)" in err


def test_missing_toolchain_names_the_package(capsys, monkeypatch, tmp_path):
    src = need_source()
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("make", "gcc", "git"):  # everything but the Arm compiler
        found = subprocess.run(["which", name], capture_output=True, text=True).stdout.strip()
        if found:
            (tools / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(tools))
    argv = ["--board", "mps2-an385", "--micropython-src", src, "--out", str(tmp_path / "c")]
    err = one_line_error(capsys, argv)
    assert "arm-none-eabi-gcc not found" in err
    assert "gcc-arm-none-eabi" in err and "scripts/install-system-deps.sh" in err


def test_failed_build_shows_makes_last_lines(capsys, cache):
    need_source()
    # the session's mpy-cross is reused; every C file of this build fails to preprocess
    broken = "CFLAGS_EXTRA=-m32 -include vafa-no-such-header.h"
    argv = ["--board", "unix-x86", "--micropython-src", SOURCE, "--out", str(cache),
            "--option", broken]  # fmt: skip
    assert main(["flash", "firmware", *argv]) == 1
    err = capsys.readouterr().err
    assert "vafa flash firmware: unix-x86: make failed (exit 2); full output in " in err
    assert "make's last lines:" in err and "vafa-no-such-header.h" in err
    assert "Traceback" not in err
