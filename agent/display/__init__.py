"""Screens for the terminal display: a table of screens (screens.py) rendered for text
consoles (text.py), HD44780 character LCDs (charlcd.py) and 128x64 pixel panels (pixel.py).
docs/display.md has the rules (languages, sizes, Persian on each kind of display)."""
