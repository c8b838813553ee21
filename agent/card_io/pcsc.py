"""A reader of agent/card_io/reader.py over PC/SC, through pyscard (CPython only).

    reader = PcscReader("Virtual PCD 00 00")      # exact name, a part of one, or None (any)
    if reader.wait_for_card(5000):
        atr = reader.connect()
        response = reader.transmit(apdu)

pyscard is an optional extra (`pip install vafa[cards]`) and is imported only inside this
module's functions, so importing agent.card_io.pcsc (or the agent core) never needs it. Waiting
for a card uses pyscard's CardRequest; waiting for removal and the card's state use
SCardGetStatusChange / SCardStatus, as pyscard's CardMonitor does. PC/SC errors become
CardError subclasses: a card gone is CardRemoved, anything else about the reader or the
service (pcscd not running: 0x8010001D) is ReaderError.

pcscd notices an inserted or removed card by polling (about 0.4 s with the vpcd driver): until
it has, card_present() may still say True for a card already pulled; a transmit() to it fails
at once (CardRemoved), which is why ClubCardReader.present() also re-selects the application.
"""

from agent.card_io.errors import CardRemoved, ReaderError

# PC/SC return codes that mean "the card is not (or no longer) there".
SCARD_W_REMOVED_CARD = 0x80100069
SCARD_E_NO_SMARTCARD = 0x8010000C
SCARD_E_NOT_TRANSACTED = 0x80100016
SCARD_W_RESET_CARD = 0x80100068
SCARD_W_UNPOWERED_CARD = 0x80100067
SCARD_E_NO_SERVICE = 0x8010001D
SCARD_E_TIMEOUT = 0x8010000A
NO_SERVICE = "PC/SC service not available (is pcscd running?)"
CARD_GONE = (
    SCARD_W_REMOVED_CARD,
    SCARD_E_NO_SMARTCARD,
    SCARD_E_NOT_TRANSACTED,
    SCARD_W_RESET_CARD,
    SCARD_W_UNPOWERED_CARD,
)


def _scard():
    try:
        from smartcard import scard
    except ImportError:
        raise ReaderError("pyscard is not installed: pip install vafa[cards]") from None
    return scard


def _hresult(code):
    return code & 0xFFFFFFFF


def _error(what, code):
    scard = _scard()
    code = _hresult(code)
    text = scard.SCardGetErrorMessage(code)
    if code in CARD_GONE:
        return CardRemoved(f"card removed ({what}: {text}, 0x{code:08X})")
    return ReaderError(f"{what}: {text} (0x{code:08X})")


def reader_names():
    """The PC/SC readers' names; ReaderError when the service is down or no reader exists."""
    scard = _scard()
    code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if code != scard.SCARD_S_SUCCESS:
        raise _error(NO_SERVICE, code)
    try:
        code, names = scard.SCardListReaders(context, [])
        if code != scard.SCARD_S_SUCCESS:
            raise _error("no PC/SC reader", code)
        return list(names)
    finally:
        scard.SCardReleaseContext(context)


def pick_reader(names, wanted):
    """The reader called `wanted` (exactly, else the only one containing it); None = any."""
    if wanted is None:
        return None
    if wanted in names:
        return wanted
    matches = [n for n in names if wanted.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ReaderError(f"no reader named {wanted!r}; readers: {', '.join(names) or 'none'}")
    raise ReaderError(f"{wanted!r} matches several readers: {', '.join(matches)}")


class PcscReader:
    """One PC/SC reader (chosen by name, or the first with a card when name is None)."""

    def __init__(self, name=None):
        self.wanted = name
        self.name = None  # the resolved reader name
        self._context = None
        self._card = None
        self._protocol = None

    # -- context and names -----------------------------------------------------------------

    def _ctx(self):
        scard = _scard()
        if self._context is None:
            code, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if code != scard.SCARD_S_SUCCESS:
                raise _error(NO_SERVICE, code)
            self._context = context
        return self._context

    def _names(self):
        scard = _scard()
        code, names = scard.SCardListReaders(self._ctx(), [])
        if code != scard.SCARD_S_SUCCESS:
            raise _error("no PC/SC reader", code)
        return list(names)

    def _resolve(self):
        if self.name is None and self.wanted is not None:
            self.name = pick_reader(self._names(), self.wanted)
        return self.name

    # -- waiting ---------------------------------------------------------------------------

    def wait_for_card(self, timeout_ms):
        """True when a card is in the reader (any reader when no name was given) within
        timeout_ms; waits with pyscard's CardRequest."""
        try:
            from smartcard.CardRequest import CardRequest
            from smartcard.CardType import AnyCardType
            from smartcard.Exceptions import (
                CardConnectionException,
                CardRequestTimeoutException,
                CardServiceException,
            )
        except ImportError:
            raise ReaderError("pyscard is not installed: pip install vafa[cards]") from None
        try:
            name = self._resolve()
            request = CardRequest(
                timeout=max(timeout_ms, 1) / 1000,
                readers=[name] if name else None,
                cardType=AnyCardType(),
                newcardonly=False,
            )
        except CardConnectionException as e:
            raise _error(NO_SERVICE, e.hresult or SCARD_E_NO_SERVICE)
        try:
            service = request.waitforcard()
        except CardRequestTimeoutException:
            return False
        except (CardConnectionException, CardServiceException) as e:
            raise ReaderError(f"waiting for a card failed: {e}") from None
        finally:
            try:
                request.release()
            except Exception:  # the context may be gone with pcscd: nothing to release
                pass
        if self.name is None:
            self.name = str(service.connection.getReader())
        return True

    def _state(self, timeout_ms=0):
        """The reader's event state after waiting up to timeout_ms for a change."""
        scard = _scard()
        name = self._resolve()
        if name is None:
            raise ReaderError("no reader chosen yet: wait_for_card() first or give a name")
        code, states = scard.SCardGetStatusChange(
            self._ctx(), 0, [(name, scard.SCARD_STATE_UNAWARE)]
        )
        if code != scard.SCARD_S_SUCCESS:
            raise _error("reader status", code)
        state = states[0][1]
        if timeout_ms:
            code, states = scard.SCardGetStatusChange(self._ctx(), timeout_ms, [(name, state)])
            if _hresult(code) == SCARD_E_TIMEOUT:
                return state
            if code != scard.SCARD_S_SUCCESS:
                raise _error("reader status", code)
            state = states[0][1]
        return state

    def card_present(self):
        scard = _scard()
        try:
            state = self._state()
        except CardRemoved:
            return False
        return bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_EMPTY

    def wait_for_removal(self, timeout_ms):
        """True once the reader is empty (within timeout_ms)."""
        import time

        scard = _scard()
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            state = self._state()
            if not state & scard.SCARD_STATE_PRESENT:
                return True
            if left <= 0:
                return False
            self._state(min(left, 1000))

    # -- the session -----------------------------------------------------------------------

    def connect(self):
        scard = _scard()
        self.disconnect()
        name = self._resolve()
        if name is None:
            raise ReaderError("no reader chosen yet: wait_for_card() first or give a name")
        code, card, protocol = scard.SCardConnect(
            self._ctx(),
            name,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if code != scard.SCARD_S_SUCCESS:
            raise _error(f"no card in {name}", code)
        self._card, self._protocol = card, protocol
        code, _reader, _state, _protocol, atr = scard.SCardStatus(card)
        if code != scard.SCARD_S_SUCCESS:
            raise _error("card status", code)
        return bytes(atr)

    def transmit(self, apdu):
        scard = _scard()
        if self._card is None:
            raise CardRemoved("not connected to a card")
        code, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if code != scard.SCARD_S_SUCCESS:
            raise _error("transmit", code)
        return bytes(response)

    def disconnect(self):
        """End the session, leaving the card as it is (SCARD_LEAVE_CARD). Not UNPOWER: with
        the vpcd driver, powering down a card that has just been pulled out stalls the
        reader for about 5 s (pcscd then misses the next card). The next session starts with
        SELECT, which resets the application's state anyway."""
        if self._card is None:
            return
        scard = _scard()
        card, self._card = self._card, None
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)

    def close(self):
        """Disconnect and release the PC/SC context."""
        self.disconnect()
        if self._context is not None:
            scard = _scard()
            context, self._context = self._context, None
            scard.SCardReleaseContext(context)
