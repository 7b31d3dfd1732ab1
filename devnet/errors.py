"""The one error type devnet raises on purpose: what failed, and what to do next."""


class DevnetError(Exception):
    """A failure the user can act on. Tasks turn it into `Exit(str(err))`."""

    def __init__(self, what: str, hint: str | None = None):
        super().__init__(what)
        self.what = what
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.what}\n  next: {self.hint}"
        return self.what


class ConfigError(DevnetError):
    """Settings that cannot work; raised before anything is changed."""


class HopFailed(Exception):
    """A doctor hop's check found the hop broken; its text is what the table shows. (Not an
    AssertionError: a real bug in a check stays a traceback, not a FAIL line.)"""
