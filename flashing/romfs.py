"""A ROMFS image of a built bundle: the bundle's tree as a read-only filesystem image.

    image = build(bundle_dir)                    # bytes; build(bundle_dir, "bundle.img") writes it
    # on the device:  vfs.mount(vfs.VfsRom(image), "/rom"); sys.path.insert(0, "/rom")

MicroPython (1.24+) runs `.mpy` bytecode imported from a ROMFS in place: the bytecode, its str
and bytes constants stay in the image (flash on a board, where `mpremote romfs deploy` writes the
ROMFS partition) instead of being copied into the heap. The image holds the bundle folder as it
is (manifest.json, manifest.sig, agent/**.mpy): the files are already compiled, nothing is
recompiled here. Written over mpremote's own writer (mpremote.romfs.VfsRomWriter), the format
`mpremote romfs build` produces.
"""

import os
from pathlib import Path


def _writer():
    try:
        from mpremote.romfs import VfsRomWriter
    except ImportError as exc:  # pragma: no cover - mpremote is in the flashing extra
        raise RuntimeError("mpremote not found: pip install vafa[flashing]") from exc
    return VfsRomWriter()


def _add(fs, folder):
    for name in sorted(os.listdir(folder)):  # sorted: the same bundle gives the same image
        path = folder / name
        if path.is_dir():
            fs.opendir(name)
            _add(fs, path)
            fs.closedir()
        else:
            fs.mkfile(name, path.read_bytes())


def build(bundle_dir, out=None):
    """The ROMFS image (bytes) of the folder bundle_dir; also written to `out` when given."""
    folder = Path(bundle_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a bundle folder")
    fs = _writer()
    _add(fs, folder)
    image = fs.finalise()
    if out is not None:
        Path(out).write_bytes(image)
    return image
