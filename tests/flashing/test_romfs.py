"""flashing/romfs.py: a ROMFS image of a built bundle, mounted and imported from under the real
unix MicroPython (vfs.VfsRom), where bytecode runs in place instead of being copied to the heap."""

import pytest

from agent.protocol import iso8583
from flashing import romfs
from flashing.device import VirtualDevice

pytest.importorskip("mpremote.romfs")

# The image read into a bytearray (flash on a board), mounted at /rom; then one import from
# /rom and the same import from the bundle folder, each measured with gc.mem_alloc.
SCRIPT = """
import gc, os, sys, vfs
img = bytearray(os.stat('bundle.img')[6])
with open('bundle.img', 'rb') as f:
    f.readinto(img)
vfs.mount(vfs.VfsRom(img), '/rom')
print('LISTING', sorted(os.listdir('/rom')))
sys.path.insert(0, %r)
gc.collect()
a0 = gc.mem_alloc()
from agent.protocol import iso8583
gc.collect()
print('HEAP', gc.mem_alloc() - a0, iso8583.__file__)
print('ENCODED', iso8583.encode(%r).hex())
"""
MESSAGE = {"t": "0800", "11": "000001", "70": "301"}


def test_build_is_deterministic_and_written(bundle, tmp_path):
    image = romfs.build(bundle.path, tmp_path / "bundle.img")
    assert image[:3] == b"\xd2\xcd\x31"  # the ROMFS header
    assert (tmp_path / "bundle.img").read_bytes() == image
    assert romfs.build(bundle.path) == image
    with pytest.raises(FileNotFoundError):
        romfs.build(tmp_path / "missing")


def test_a_module_imports_from_the_image_in_place(bundle, tmp_path):
    folder = tmp_path / "dev"
    folder.mkdir()
    romfs.build(bundle.path, folder / "bundle.img")
    (folder / "bundle").symlink_to(bundle.path)
    device = VirtualDevice(folder, heapsize=1024 * 1024)
    found = {}
    for where in ("/rom", "bundle"):  # each in a fresh process: qstrs are interned once
        out = device.run(SCRIPT % (where, MESSAGE))
        assert out.returncode == 0, out.stdout + out.stderr
        lines = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}
        assert "'manifest.json'" in " ".join(lines["LISTING"])
        assert lines["ENCODED"] == [iso8583.encode(MESSAGE).hex()]  # as on CPython
        found[where] = int(lines["HEAP"][0]), lines["HEAP"][1]
    assert found["/rom"][1] == "/rom/agent/protocol/iso8583.mpy"
    assert found["bundle"][1] == "bundle/agent/protocol/iso8583.mpy"
    assert found["/rom"][0] < found["bundle"][0]  # the bytecode stayed in the image
