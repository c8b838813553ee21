"""The device's TR-31 version D unwrap against key blocks wrapped by psec."""

import subprocess

import psec
import pytest

from agent.firmware import tr31
from flashing.provision import wrap_initial_key
from flashing.targets import micropython_binary
from tests.flashing.support import REPO

IKID = bytes.fromhex("5641464100000001")
KEY = bytes.fromhex("1273671EA26AC29AFA4D1084127652A1")


@pytest.mark.parametrize("kbpk", [bytes(range(16)), bytes(range(32))], ids=["AES-128", "AES-256"])
def test_unwraps_psec_blocks(kbpk):
    block = wrap_initial_key(kbpk, KEY, IKID)
    header, key = tr31.unwrap(kbpk, block)
    assert key == KEY
    assert header["usage"] == "B1" and header["algorithm"] == "A" and header["mode"] == "X"
    assert header["blocks"]["IK"] == IKID.hex().upper()


@pytest.mark.parametrize("where", [6, 17, 40, -40, -1], ids=["usage", "IK", "key", "key2", "mac"])
def test_tampered_block_refused(where):
    kbpk = bytes(range(16))
    block = wrap_initial_key(kbpk, KEY, IKID)
    i = where % len(block)
    bad = block[:i] + ("1" if block[i] != "1" else "2") + block[i + 1 :]
    with pytest.raises(psec.tr31.KeyBlockError):
        psec.tr31.unwrap(kbpk, bad)  # the oracle agrees it is broken
    with pytest.raises(tr31.KeyBlockError) as e:
        tr31.unwrap(kbpk, bad)
    assert KEY.hex() not in str(e.value).lower()


def test_wrong_kbpk_and_malformed():
    block = wrap_initial_key(bytes(range(16)), KEY, IKID)
    with pytest.raises(tr31.KeyBlockError, match=r"^mac:"):
        tr31.unwrap(bytes(16), block)
    with pytest.raises(tr31.KeyBlockError, match=r"^length:"):
        tr31.unwrap(bytes(range(16)), block[:-32])
    with pytest.raises(tr31.KeyBlockError, match=r"^version:"):
        tr31.unwrap(bytes(range(16)), "B" + block[1:])


def test_unwrap_under_micropython(tmp_path):
    kbpk = bytes(range(16))
    block = wrap_initial_key(kbpk, KEY, IKID)
    bad = block[:-1] + ("0" if block[-1] != "0" else "1")
    script = tmp_path / "t.py"
    script.write_text(
        "from agent.firmware import tr31\n"
        f"h, k = tr31.unwrap({kbpk!r}, {block!r})\n"
        "print('KEY', k.hex(), h['blocks']['IK'])\n"
        "try:\n"
        f"    tr31.unwrap({kbpk!r}, {bad!r})\n"
        "except tr31.KeyBlockError as e:\n"
        "    print('REFUSED', e.field)\n"
    )
    out = subprocess.run(
        [micropython_binary(), str(script)],
        capture_output=True, text=True, cwd=REPO, env={"MICROPYPATH": str(REPO)}, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.split() == ["KEY", KEY.hex(), IKID.hex().upper(), "REFUSED", "mac"]
