"""A TCP proxy that injects faults into a framed (2-byte length) message stream, for tests.

Sits between a terminal and the club server on loopback and, by a plan keyed on the message's
direction and its index, passes, drops, delays, duplicates, truncates a frame or resets the
connection. See docs/testing.md ("Crash and network-fault tests").
"""

from simulator.netfault.proxy import ACTIONS, FaultProxy, Plan

__all__ = ["ACTIONS", "FaultProxy", "Plan"]
