"""The interactive POS emulator (Textual): `vafa emulator` on a terminal, without --ecr.

Textual is an optional dependency (the `emulator` extra); import simulator.pos_emulator.ui.app
only where it is installed. devices.py (the ports the engine calls) needs no Textual.
"""
