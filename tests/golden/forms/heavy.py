"""A module the Protocols import only under TYPE_CHECKING."""


class Report:
    pass
