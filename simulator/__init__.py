"""Simulators: club server, bank leg, virtual cards and the POS emulator (CPython)."""
