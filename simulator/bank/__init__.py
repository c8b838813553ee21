"""The bank leg (PSP) simulator: a BankLeg port (agent/ports.py) with scripted outcomes.

docs/bank_leg.md is its outcome table. Plain Python that also imports under MicroPython, so
the agent's portable tests can use it.
"""

from simulator.bank.leg import OUTCOMES, BankSimulator

__all__ = ["OUTCOMES", "BankSimulator"]
