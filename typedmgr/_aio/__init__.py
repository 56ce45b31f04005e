"""Async twins: asyncio proxies on one multiplexed connection per manager.

``connection`` (the full-duplex asyncio connection and its ``handshake``), ``proxy`` (the
base of async twins, twins built at run time), ``pipeline`` (batches of async calls),
``manager`` (``AsyncTypedManager``). ``typedmgr`` exports the public names.
"""
