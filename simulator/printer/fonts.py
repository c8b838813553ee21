"""The TTF font the receipt rasterizer draws with: found on this machine, not assumed.

    regular, bold = find_fonts()                  # paths, or FontError (one line, exit 2)
    regular, bold = find_fonts("my.ttf")          # an explicit file, checked the same way

Where a font is looked for, in order (the first that draws Persian letters wins):

    1. the file given (--font), else $VAFA_RECEIPT_FONT: a font named must do (FontError
       otherwise, never a silent replacement)
    2. DejaVu Sans where distributions install it (Debian/Ubuntu fonts-dejavu-core, Fedora,
       Arch, Alpine, Homebrew): the face the golden pictures of tests/display were drawn with
    3. fontconfig: `fc-match "DejaVu Sans"`, then any face fontconfig knows for Persian
       (`fc-match :lang=fa`)

A face counts only when it has the Persian letters a receipt prints: fontconfig answers every
query with some face (its fallback), and a Latin-only face would draw each letter as the same
empty box. The bold face is the regular one's bold sibling when there is one (DejaVuSans.ttf ->
DejaVuSans-Bold.ttf), else the regular face itself (bold lines are then drawn regular).
"""

import os
import shutil
import subprocess
from pathlib import Path

ENV = "VAFA_RECEIPT_FONT"
# Where distributions put DejaVu Sans (regular): Debian/Ubuntu, Fedora, Arch, Alpine, macOS
DEJAVU_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "/opt/homebrew/share/fonts",
    "/Library/Fonts",
)
DEJAVU = "DejaVuSans.ttf"
# letters of every receipt: beh, peh, gaf, yeh (Persian), keheh; and a Persian digit
PERSIAN_PROBE = "\u0628\u067e\u06af\u06cc\u06a9\u06f1"
MISSING = "\U000effff"  # a private-use code point no font has: its box is the .notdef glyph
FC_TIMEOUT_S = 5


class FontError(ValueError):
    """No usable font: the message names what was tried and what to install or pass."""

    exit_code = 2


def draws_persian(path):
    """True when the TTF/OTF at path has a glyph of its own for each probe letter."""
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), 24, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return False
    empty = font.getmask(MISSING).getbbox(), bytes(font.getmask(MISSING))
    for ch in PERSIAN_PROBE:
        mask = font.getmask(ch)
        if mask.getbbox() is None or (mask.getbbox(), bytes(mask)) == empty:
            return False
    return True


def _fc_match(pattern):
    if shutil.which("fc-match") is None:
        return None
    try:
        done = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern],
            capture_output=True,
            text=True,
            timeout=FC_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def candidates():
    """(where it came from, path) in the order they are tried when no font is named;
    fontconfig is asked only when the earlier ones did not do."""
    for folder in DEJAVU_DIRS:
        yield "DejaVu Sans", str(Path(folder) / DEJAVU)
    for pattern in ("DejaVu Sans:style=Book", ":lang=fa"):
        yield f"fc-match {pattern!r}", _fc_match(pattern) or ""


def bold_of(regular):
    """The bold sibling of a regular face's file, else the regular face."""
    path = Path(regular)
    for name in (path.stem + "-Bold" + path.suffix, path.stem + "Bold" + path.suffix):
        sibling = path.with_name(name)
        if sibling.is_file() and draws_persian(sibling):
            return str(sibling)
    return str(path)


def _named(path, what):
    if not Path(path).is_file():
        raise FontError(f"{what} {path}: no such file")
    if not draws_persian(path):
        raise FontError(f"{what} {path}: not a font with Persian letters (a TrueType or "
                        f"OpenType face is expected, e.g. DejaVuSans.ttf)")  # fmt: skip
    return str(path)


def find_fonts(explicit=None, bold=None):
    """(regular, bold) font paths for the raster receipt; FontError naming what was tried.
    A font named (explicit, else $VAFA_RECEIPT_FONT) must do: it is not silently replaced."""
    if explicit is not None:
        regular = _named(explicit, "--font")
    elif os.environ.get(ENV):
        regular = _named(os.environ[ENV], f"${ENV}")
    else:
        tried = []
        for where, path in candidates():
            tried.append(where)
            if path and Path(path).is_file() and draws_persian(path):
                regular = path
                break
        else:
            places = ", ".join(dict.fromkeys(tried))
            raise FontError(
                f"no font with Persian letters found (tried {places}): install DejaVu Sans "
                f"(Debian: apt-get install fonts-dejavu-core), or pass --font FILE.ttf or set "
                f"{ENV}"
            )
    if bold is not None:
        return regular, _named(bold, "--bold-font")
    return regular, bold_of(regular)
