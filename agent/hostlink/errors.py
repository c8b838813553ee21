"""The one error root of agent.hostlink: everything the host link raises is a HostLinkError.

    HostLinkError (OSError)     the serial link cannot carry what was asked
        FrameError              bytes that are not a frame, or a body a frame cannot carry;
                                `offset` is where in the frame content the problem is
        ChannelClosed           the channel is closed: `reason` is the REASON's name
                                (docs/hostlink.md 4.3) or "link down" when the link reset

An OSError, so every caller that handles a broken connection handles these too; the club
link's adapter turns them into agent.links.LinkDown / LinkTimeout as the TCP adapter does.
"""


class HostLinkError(OSError):
    pass


class FrameError(HostLinkError):
    def __init__(self, message, offset=None):
        if offset is not None:
            message = message + " (offset " + str(offset) + ")"
        super().__init__(message)
        self.offset = offset


class ChannelClosed(HostLinkError):
    def __init__(self, service, reason):
        super().__init__("channel " + str(service) + " closed: " + str(reason))
        self.service = service
        self.reason = reason
