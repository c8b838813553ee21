"""Tests that run unchanged under pytest (CPython) and under the MicroPython unix binary.

Rules for files here: plain `def test_*():` functions with asserts, no pytest import, no
fixtures; only modules both interpreters have. tests/portable/runner.py runs them on
MicroPython; pytest collects them as usual.
"""
