"""The cashier's coupon code on the emulator (docs/protocol.md 5.10): K opens the entry while
the terminal is idle, letters and digits make the code (a scanner types it the same way, as
keyboard input), OK keeps it for the next purchase (F1..F4), Esc drops it. The code is shown on
the terminal's display (screen coupon_entry) and the kept code in the log until a purchase takes it;
the engine checks it before anything is sent (agent/coupon.py), so a code that is no code is
said in the log and nothing runs. A mixin of EmulatorApp, like keyboard.TerminalKeys."""

from agent import coupon as coupon_rules

COUPON_KEY = "k"
# the flows that take a coupon (simulator/pos_emulator/ui/keys.py FLOWS' names)
COUPON_FLOWS = ("bank", "club_credit", "store_credit", "cash")


class CouponKeys:
    """State: coupon_typing (the entry is open), coupon (the code kept for the next sale)."""

    coupon = None
    coupon_typing = False

    def coupon_press(self, key, character=None):
        """A key while the code is typed; True when it meant something."""
        if key == "enter":
            self.coupon_typing = False
            try:
                self.coupon = coupon_rules.normalize(self.entry) if self.entry else None
            except ValueError as e:
                self.coupon = None
                self._event(f"coupon: {self.entry!r} refused: {e}")
            else:
                self._event(f"coupon: {self.coupon} kept for the next purchase" if self.coupon
                            else "coupon: none")  # fmt: skip
            self.entry = ""
            self.display_port.show("ready")
        elif key == "escape":
            self.coupon_typing, self.coupon, self.entry = False, None, ""
            self._event("coupon: dropped")
            self.display_port.show("ready")
        elif key == "backspace":
            self.entry = self.entry[:-1]
            self._show_coupon()
        elif character and character.isascii() and character.isalnum() and len(key) == 1:
            if len(self.entry) < coupon_rules.CODE_MAX:
                self.entry += character.upper()
            self._show_coupon()
        else:
            return False
        self._refresh_display()
        return True

    def open_coupon(self):
        """K while idle: the entry opens (what was typed as an amount is kept aside)."""
        if self.busy or self.waiting is not None:
            return False
        self.coupon_typing, self.entry, self.pending = True, "", None
        self._show_coupon()
        self._refresh_display()
        return True

    def _show_coupon(self):
        self.display_port.show("coupon_entry", coupon=self.entry)

    def take_coupon(self, flow):
        """The code kept for this flow (a purchase), once; None for the others."""
        if flow not in COUPON_FLOWS or not self.coupon:
            return None
        code, self.coupon = self.coupon, None
        return code
