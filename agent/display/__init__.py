"""Screens for the terminal display."""
