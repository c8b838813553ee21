"""docs/protocol.md read as data, so tests check the page a vendor reads, not a copy of it.

- field_map(): table 2.1, {message type: {field: cell}} ("M", "E", "C1", "-", ...), and the
  format and length columns;
- golden(): the code block of 4.4, {label: bytes};
- golden_fields(): the two field-by-field tables of 4.4, [(field, bytes, value cell)] each.
"""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def section(number):
    """The text of the section whose heading starts with `number` (e.g. "2.1"), up to the next
    heading of any level."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"#+ {re.escape(number)}\s", line))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start + 1 : end])


def tables(text):
    """Every markdown table in `text`: a list of rows, each a list of cell strings, the header
    row first and the |---| row left out."""
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= {"-"} for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def field_map():
    """Table 2.1: (cells, formats, lengths) where cells is {MTI: {field: cell}} and formats and
    lengths are {field: column text}."""
    header, *rows = tables(section("2.1"))[0]
    mtis = header[4:]
    cells = {mti: {} for mti in mtis}
    formats, lengths = {}, {}
    for row in rows:
        field = row[0]
        formats[field] = row[2]
        lengths[field] = row[3]
        for mti, cell in zip(mtis, row[4:], strict=True):
            cells[mti][field] = cell
    return cells, formats, lengths


def golden():
    """The 4.4 code block: {label: bytes}. A line that starts in column 0 is a label, then two
    or more spaces and hex, or the label alone with its hex on the indented lines below."""
    text = section("4.4")
    block = text.split("```")[1]
    values, label = {}, None
    for line in block.strip("\n").splitlines():
        if line.startswith(" "):
            values[label] += line.strip()
            continue
        label, _, value = re.match(r"(.*?)(\s{2,}|$)([0-9A-F]*)$", line).groups()
        values[label] = value
    return {label: bytes.fromhex(value) for label, value in values.items()}


def golden_fields():
    """The two field-by-field tables of 4.4: [(field, bytes, value cell)] for the 0100 and the
    0110, in the order they are on the page."""
    out = []
    for table in tables(section("4.4")):
        rows = []
        for field, hexcell, value in table[1:]:
            rows.append((field, bytes.fromhex(hexcell.strip("`")), value))
        out.append(rows)
    return out


def quoted(cell):
    """The text of every `...` span of a cell, joined: a field's characters as the page gives
    them."""
    return "".join(re.findall(r"`([^`]*)`", cell))
