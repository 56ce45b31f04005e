"""The version of this typedmgr, in one place the package and its modules import."""

__version__ = "0.1.0"
