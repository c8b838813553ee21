"""A deadline, in the manner of pyserial's serialutil.Timeout: started once, asked many times.

    deadline = Deadline(1.0)
    while not deadline.expired():
        data = port.read(timeout=deadline.left())

`Deadline(None)` never expires (left() is None: block), `Deadline(0)` has already expired
(left() is 0: poll). The clock is time.monotonic, so a wall-clock change does not move it.
"""

import time


class Deadline:
    clock = staticmethod(time.monotonic)

    def __init__(self, duration):
        self.restart(duration)

    def restart(self, duration):
        self.duration = duration
        self.target = None if duration is None else self.clock() + duration

    def expired(self):
        return self.target is not None and self.clock() >= self.target

    def left(self):
        """Seconds left (never below 0), or None when it never expires."""
        if self.target is None:
            return None
        return max(0.0, self.target - self.clock())

    def slice(self, most):
        """Seconds to wait now: what is left, but at most `most`."""
        left = self.left()
        return most if left is None else min(left, most)

    def __repr__(self):
        return f"Deadline(left={self.left()})"
