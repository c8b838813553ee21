"""Scripted scenarios for the POS emulator: `vafa emulator --scenario FILE [FILE...]`.

YAML files (docs/testing.md "## Scenarios") checked by schema.py and run by runner.py against a
fresh seeded club server each, with the real agent engine on every emulated terminal (world.py:
the club and terminals; step_actions.py, expectations.py: the steps and their checks).
"""

from simulator.pos_emulator.scenario.runner import load_all, run_files, run_scenario
from simulator.pos_emulator.scenario.schema import ScenarioError, load_file

__all__ = ["ScenarioError", "load_all", "load_file", "run_files", "run_scenario"]
