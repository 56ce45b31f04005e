"""The reference example: a small shop served by a typedmgr manager."""
