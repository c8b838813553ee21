"""Keyboard-wedge stripe readers over pynput (CPython): the CardReader port.

A keyboard-wedge reader is a USB keyboard that types the track data of each swipe. The pynput
listener here only timestamps keys (with the clock handed in) and queues them; the decision
"swipe or person typing" is agent/card_io/swipe.py (pure), the track parsing
agent/card_io/track.py (pure).

    reader = WedgeReader(on_text=keypad_buffer.extend)
    reader.start()                 # needs a keyboard session: X11 (DISPLAY), Windows, macOS
    card = reader.read(30000)      # StripeCard, or None when no swipe came in time
    reader.stop()

read() raises SwipeError for a burst that is not a clean swipe and TrackError for a swipe
whose tracks do not parse; the reader carries on with the next swipe. Keys a person typed come
out through on_text(text) (the keys also reach the focused window as usual: the listener does
not suppress them).

The reader types letters as the keyboard layout maps them: with Caps Lock on, track 1 letters
arrive in lower case (they are put back in upper case: track 1 has no lower case); with a
Persian layout the sentinels do not arrive at all (SwipeError says so): use the English (US)
layout at a till with a wedge reader.

pynput is imported by start(), never at module level. On X11 it reads DISPLAY when first
imported and when a listener starts: set DISPLAY before start().
"""

from agent.card_io.swipe import REJECT, SWIPE, TEXT, SwipeDetector
from agent.card_io.track import parse_swipe

# pynput's names of the special keys that type a character
SPECIAL_KEYS = {"enter": "\n", "space": " ", "tab": "\t"}
# X11 keysyms that pynput reports as a bare key code: Return, Linefeed (what `xdotool type`
# sends for "\n"), keypad Enter
X_ENTER_KEYSYMS = (0xFF0D, 0xFF0A, 0xFF8D)


def key_char(key):
    """The character a pynput key types ("\\n" for Enter), or None (Shift, arrows, ...)."""
    char = getattr(key, "char", None)
    if char is not None:
        return char if len(char) == 1 else None
    name = getattr(key, "name", None)
    if name is not None:
        return SPECIAL_KEYS.get(name)
    if getattr(key, "vk", None) in X_ENTER_KEYSYMS:
        return "\n"
    return None


class WedgeReader:
    """read(timeout_ms) -> StripeCard or None, from a keyboard-wedge stripe reader.

    clock: ticks_ms() (agent.ports.SystemClock by default); detector: a SwipeDetector (its
    thresholds); on_text(text): receives what a person typed; listener_factory(on_press): makes
    the key listener (default: pynput.keyboard.Listener).
    """

    def __init__(self, clock=None, detector=None, on_text=None, listener_factory=None):
        import queue  # CPython: the listener runs in its own thread

        if clock is None:
            from agent.ports import SystemClock

            clock = SystemClock()
        self.clock = clock
        self.detector = detector or SwipeDetector()
        self.on_text = on_text
        self._factory = listener_factory
        self._keys = queue.Queue()
        self._empty = queue.Empty
        self._events = []
        self._listener = None

    def start(self):
        if self._listener is None:
            factory = self._factory
            if factory is None:
                from pynput import keyboard  # CPython only, and only when a reader starts

                factory = keyboard.Listener
            self._listener = factory(on_press=self._on_press)
            self._listener.start()
            self._listener.wait()
        return self

    @property
    def listener(self):
        """The running key listener (a pynput Listener, a thread), or None."""
        return self._listener

    def stop(self):
        """Stop listening; returns the stopped listener. On X11 pynput's listener thread ends
        at the next X input event after stop(), not at once (join it after one if needed)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        return listener

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def feed(self, char, t_ms=None):
        """Queue one key as the listener does (a test or another key source may call it)."""
        self._keys.put((char, self.clock.ticks_ms() if t_ms is None else t_ms))

    def read(self, timeout_ms=30000):
        clock = self.clock
        deadline = clock.ticks_ms() + timeout_ms
        detector = self.detector
        while True:
            while self._events:
                event = self._events.pop(0)
                if event.kind == TEXT:
                    if self.on_text is not None:
                        self.on_text(event.text)
                elif event.kind == SWIPE:
                    return parse_swipe(_upper(event.text))
                elif event.kind == REJECT:
                    raise event.error
            if self._drain():
                continue
            now = clock.ticks_ms()
            self._events.extend(detector.poll(now))
            if self._events:
                continue
            due = detector.deadline()
            if now >= deadline and due is None:
                return None
            wait = deadline - now if due is None else due - now  # finish a burst in progress
            try:
                char, t_ms = self._keys.get(timeout=max(wait, 0) / 1000)
            except self._empty:
                continue
            self._events.extend(detector.feed(char, t_ms))

    def _drain(self):
        """Feed every key already queued to the detector; True when that produced events."""
        while True:
            try:
                char, t_ms = self._keys.get_nowait()
            except self._empty:
                return bool(self._events)
            self._events.extend(self.detector.feed(char, t_ms))

    def _on_press(self, key):
        char = key_char(key)
        if char is not None:
            self._keys.put((char, self.clock.ticks_ms()))


def _upper(text):
    """Track data has no lower case (ISO/IEC 7811-2): lower case letters mean Caps Lock."""
    for c in text:
        if "a" <= c <= "z":
            return text.upper()
    return text
