"""Printer profiles: what a receipt printer model can do, as a table.

    name -> {"width": characters per line (font A), "dots": printable dots per line,
             "text": how text is sent: "ascii" (code page 0, PC437: English only),
                     "iran_system" (shaped visual-order bytes of agent/printing/iran_system.py
                     on the printer's Iran System code page), or "raster" (every text line as
                     a GS v 0 image drawn by a rasterizer the entry point hands in),
             "codepage": the ESC t number to select, or None to send no ESC t,
             "qr": the printer prints QR codes natively (GS ( k), "cut": GS V mode or None}

The ESC t number of Iran System is not standard: it depends on the printer model and its
firmware (Epson printers have no Iran System page at all; many printers sold in Iran list it on
their self-test page). IRAN_SYSTEM_PAGE is the value for the printers these profiles were
written for; copy a profile and set "codepage" from the self-test page of another model. When
in doubt, use a raster profile: it needs no code page at all.
"""

IRAN_SYSTEM_PAGE = 32
CUT_FULL = 65  # GS V 65 n: feed to the cutting position, full cut
CUT_PARTIAL = 66  # GS V 66 n: the same, one point left uncut

PROFILES = {
    "ascii-58": {"width": 32, "dots": 384, "text": "ascii", "codepage": 0, "qr": True,
                 "cut": None},
    "ascii-80": {"width": 48, "dots": 576, "text": "ascii", "codepage": 0, "qr": True,
                 "cut": CUT_PARTIAL},
    "iran-system-58": {"width": 32, "dots": 384, "text": "iran_system",
                       "codepage": IRAN_SYSTEM_PAGE, "qr": True, "cut": None},
    "iran-system-80": {"width": 48, "dots": 576, "text": "iran_system",
                       "codepage": IRAN_SYSTEM_PAGE, "qr": True, "cut": CUT_PARTIAL},
    "raster-58": {"width": 32, "dots": 384, "text": "raster", "codepage": None, "qr": True,
                  "cut": None},
    "raster-80": {"width": 48, "dots": 576, "text": "raster", "codepage": None, "qr": True,
                  "cut": CUT_PARTIAL},
}  # fmt: skip
KEYS = ("width", "dots", "text", "codepage", "qr", "cut")
TEXT_MODES = ("ascii", "iran_system", "raster")


class ProfileError(ValueError):
    pass


def profile(name_or_dict):
    """A profile by name, or a dict checked to have every key (a copy either way)."""
    if isinstance(name_or_dict, dict):
        found = dict(name_or_dict)
    else:
        if name_or_dict not in PROFILES:
            names = ", ".join(sorted(PROFILES))
            raise ProfileError(f"unknown printer profile {name_or_dict!r} (known: {names})")
        found = dict(PROFILES[name_or_dict])
    for key in KEYS:
        if key not in found:
            raise ProfileError(f"printer profile lacks {key!r}")
    if found["text"] not in TEXT_MODES:
        raise ProfileError(f"printer profile text mode {found['text']!r} not in {TEXT_MODES}")
    return found
