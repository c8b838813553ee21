"""ESC/POS bytes back into commands: for tests, previews and tools (agent/printing/escpos.py
writes them)."""


def parse(data):
    """Split ESC/POS bytes into commands: a list of (name, bytes) for tests and tools.

    Names: "text" for printable runs, otherwise the command (e.g. "ESC a", "GS v 0",
    "GS ( k"). Unknown bytes come out one at a time as "byte".
    """
    out = []
    i = 0
    n = len(data)
    fixed = {
        b"\x1b\x40": ("ESC @", 2),
        b"\x1b\x74": ("ESC t", 3),
        b"\x1b\x61": ("ESC a", 3),
        b"\x1b\x45": ("ESC E", 3),
        b"\x1b\x64": ("ESC d", 3),
        b"\x1d\x21": ("GS !", 3),
        b"\x1d\x56": ("GS V", 4),
        b"\x10\x04": ("DLE EOT", 3),
    }
    while i < n:
        head = data[i : i + 2]
        if head in fixed:
            name, size = fixed[head]
            out.append((name, data[i : i + size]))
            i += size
        elif head == b"\x1d\x28" and data[i + 2 : i + 3] == b"\x6b":
            size = 5 + data[i + 3] + 256 * data[i + 4]
            out.append(("GS ( k", data[i : i + size]))
            i += size
        elif data[i : i + 3] == b"\x1d\x76\x30":
            xb = data[i + 4] + 256 * data[i + 5]
            yb = data[i + 6] + 256 * data[i + 7]
            size = 8 + xb * yb
            out.append(("GS v 0", data[i : i + size]))
            i += size
        elif data[i] == 0x0A:
            out.append(("LF", data[i : i + 1]))
            i += 1
        elif data[i] >= 0x20:
            j = i
            while j < n and data[j] >= 0x20:
                j += 1
            out.append(("text", data[i:j]))
            i = j
        else:
            out.append(("byte", data[i : i + 1]))
            i += 1
    return out
