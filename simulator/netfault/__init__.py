"""A TCP proxy that injects faults into a framed (2-byte length) message stream, for tests.

Sits between a terminal and the club server on loopback and, by a plan keyed on the message's
direction and its index (Plan) or drawn at random at a given rate (RandomPlan), passes, drops,
delays, duplicates, truncates, bit-flips a frame, resets the connection, or delivers a request
twice and drops the answer to the first copy. See docs/testing.md ("Crash and network-fault
tests").
"""

from simulator.netfault.proxy import ACTIONS, FaultProxy, Plan, RandomPlan

__all__ = ["ACTIONS", "FaultProxy", "Plan", "RandomPlan"]
