"""Persian in the emulator's terminal and in its screenshots, as the default ("visual") mode
means it: every cell holds what is to be seen, left to right.

Textual and Rich do no bidi of their own: a cell holds the character written there. The UI
writes each Persian line already shaped (Arabic presentation forms) and in display order
(devices.visual_line, checked against arabic-reshaper + python-bidi), which reads correctly on
a terminal that draws cells as written (xterm, kitty, alacritty, Windows Terminal, tmux, VS
Code). Two places would reorder it a second time, and both are told not to:

- a terminal with bidi of its own (VTE / GNOME Terminal, Konsole, mlterm): the UI switches the
  terminal's BiDi support mode (BDSM, ECMA-48 mode 8, as VTE implements it) to explicit,
  "the application lays out the text", on start, and back to implicit on exit. A terminal
  without that mode ignores the sequence. With --ui-bidi logical the UI writes Persian in
  logical order and asks for implicit mode, for the terminal to reorder itself;
- an SVG screenshot: a browser applies the Unicode bidi algorithm to each <text>, which would
  turn the display order back; svg_as_drawn() adds `unicode-bidi: bidi-override;
  direction: ltr`, so the picture shows the cells as the terminal does.
"""

# --ui-bidi -> (sequence on start, sequence on exit)
TERMINAL_MODES = {
    "visual": ("\x1b[8l", "\x1b[8h"),  # explicit while the UI runs, then the default again
    "logical": ("\x1b[8h", "\x1b[8h"),  # implicit: the terminal reorders
}
SVG_RULE = "text { unicode-bidi: bidi-override; direction: ltr; }"


def svg_as_drawn(svg):
    """A Rich / Textual SVG screenshot whose text is drawn in cell order, not reordered."""
    head, found, tail = svg.partition("<style>")
    if not found:
        return svg
    return head + found + "\n    " + SVG_RULE + tail
