"""FirmwareError, what every step of `vafa flash firmware` raises (flashing/firmware.py): exit
code 2 for what the user can fix before building, 1 for a build that failed, 130 when
interrupted."""


class FirmwareError(Exception):
    """A firmware that cannot be built; `exit_code` 2 = fix the input, 1 = the build failed."""

    def __init__(self, message, exit_code=2, detail=()):
        super().__init__(message)
        self.exit_code = exit_code
        self.detail = list(detail)
