"""Flashing and provisioning terminals."""
