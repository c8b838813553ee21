"""Crash lab: a real agent process for the SIGKILL tests (tests/e2e/test_crash_sigkill.py).

`python -m simulator.crashlab.agent_main` runs the agent engine with FileStorage, the club link
over TCP and a bank simulator whose journal survives the process. Its storage, link and bank
ports are wrapped in counters that kill the process with SIGKILL at a chosen step
(VAFA_CRASH_AT="N:before" or "N:after"). See docs/testing.md ("Crash and network-fault tests").
"""
