"""The terminal's device main: the engine wired to the device's configuration and ports."""
