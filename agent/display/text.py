"""Screens as text lines: the display for consoles, logs and the demo (20x4 by default).

render(screen, params) is the English 20x4 text of agent/display/screens.py; TextDisplay is
a display port that renders each screen in its language and size and hands the logical lines
to write(lines). Hardware displays: agent/display/charlcd.py (HD44780 16x2 / 20x4) and
agent/display/pixel.py (128x64 panels through framebuf).
"""

from agent.display import screens

COLUMNS = 20
ROWS = 4


class _English:
    """The English 4-row templates, screen id -> line templates (read from screens.TEXT)."""

    def __contains__(self, screen):
        return screen in screens.SCREENS

    def __getitem__(self, screen):
        return screens.SCREENS[screen]["en"]

    def __iter__(self):
        return iter(screens.SCREENS.keys())


SCREENS = _English()


def render(screen, params=None, lang="en", rows=ROWS, columns=COLUMNS):
    """`rows` lines of at most `columns` characters for a screen id (unknown ids show the id)."""
    return screens.render(screen, params, lang, rows, columns)


class TextDisplay:
    """A display port that renders each screen and hands the lines to write(lines)."""

    def __init__(self, write=None, lang="en", columns=COLUMNS, rows=ROWS):
        self.write = write
        self.lang = lang
        self.columns = columns
        self.rows = rows
        self.lines = [""] * rows

    def show(self, screen, **params):
        self.lines = render(screen, params, self.lang, self.rows, self.columns)
        if self.write is not None:
            self.write(self.lines)
