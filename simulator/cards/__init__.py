"""Virtual club cards: the card application behind a card-OS interface (applet.py), the
personas QA tests with (personas.py), and two ways to insert them: in process
(agent/card_io/inprocess.py) or into real PC/SC through the vsmartcard vpcd driver (vpcd.py).

applet.py and personas.py keep to what MicroPython has, so the portable tests run the same
cards on both interpreters; vpcd.py, pcscd.py, slots.py and cli.py are CPython.
"""
