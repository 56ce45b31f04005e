"""Types the Protocols import only under TYPE_CHECKING: never imported by the proxies."""

import enum


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


class Report:
    pass
