"""Device-side firmware support: TR-31 key blocks and first-start provisioning.

The loader that verifies and selects the firmware bundle is agent/boot.py: it is copied to the
device's root outside the bundle and imports nothing from it (docs/flashing.md).
"""
