"""Keyboard wedge: for cashier software that cannot integrate, type the terminal's answer into
whatever field has the keyboard focus, as a barcode scanner would.

    result = client.sale(1_200_000, "INV-1001", "07")
    type_result(result)              # types "1085000" (the payable) when approved

pynput's Controller sends the keystrokes (X11 on Linux, also Windows and macOS); pynput is
imported only here, when typing, because it needs a display at import time on Linux.
"""

import os
import sys
import time

from hostbridge.errors import WedgeError


def keyboard():
    """A pynput keyboard Controller, or WedgeError saying why there is none."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise WedgeError("no X display (DISPLAY is not set): the wedge types into an X session")
    try:
        from pynput.keyboard import Controller
    except ImportError as e:  # pynput missing, or its X backend failed to connect
        raise WedgeError(f"cannot type here: {e}".splitlines()[0]) from None
    return Controller()


def type_text(text, controller=None, enter=False, delay_s=0.0):
    """Type text into the focused field, then Enter if asked; returns what was typed."""
    controller = controller or keyboard()
    for char in text:
        controller.type(char)
        if delay_s:
            time.sleep(delay_s)
    if enter:
        from pynput.keyboard import Key

        controller.press(Key.enter)
        controller.release(Key.enter)
    return text


def wedge_value(result, field="payable"):
    """The digits to type for a result: the field (payable by default, else the amount)."""
    value = result.fields.get(field)
    if value is None and field == "payable":
        value = result.fields.get("amount")
    return None if value is None else str(value)


def type_result(result, field="payable", enter=False, controller=None, delay_s=0.0):
    """Type the result's value when the terminal approved; returns the text typed, or None."""
    if not result.ok:
        return None
    value = wedge_value(result, field)
    if value is None:
        return None
    return type_text(value, controller, enter, delay_s)
