"""The POS emulator QA teams use without devices."""
