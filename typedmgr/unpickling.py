"""Restricted unpickling: a peer's message may only name the types the Protocols name.

The stdlib server unpickles whatever an authenticated peer sends, and a pickle can name any
importable callable (``os.system``): remote code execution for anyone who has the authkey.
A typedmgr server whose registrations are all Protocols loads requests through an allow-list
instead: a few harmless builtins, typedmgr's own tokens, and the value types the registered
Protocols mention in their signatures (and the types those contain). Anything else is refused
before it is imported, and the sender gets an error naming it and how to allow it.

A restricted load also bounds what a message can do while it loads (see SECURITY.md):

* admitted classes may be constructed, but ``BUILD`` (``__setstate__``, ``__dict__`` and slot
  updates) applies only to instances constructed fresh in this message, never to a class,
  an enum member or another shared object; some globals are admitted as values only (the
  classes of ``type[X]`` parameters, the functions of ``Callable`` parameters), never called;
* proxies are rebuilt inert: loading never opens a connection or answers a challenge
  (``rebuild_inert``); a client takes its references after the whole reply has been read;
* the objects a message builds are charged against a budget proportional to its size, and
  a dict or set whose keys collide on purpose (quadratic insertion) is refused.

The work is split along its seams, re-exported here: ``_allowlist`` (what a load may
resolve, and how a message is loaded), ``_admitted`` (the classes a Protocol's annotations
admit), ``_opcodes`` (walks of a pickle's opcodes: the memo check, the budget scan),
``_restricted`` (the checked loader and its budgets), ``_inert`` (proxies rebuilt inert)
and ``_replies`` (the allow-list a client loads replies with).
"""

from __future__ import annotations

from typedmgr._admitted import BUILTIN_EXCEPTIONS, value_objects, value_types
from typedmgr._allowlist import AllowList
from typedmgr._inert import ProxyRecipe, adopt_rebuilt, rebuild_inert
from typedmgr._opcodes import MAX_MEMO_INDEX, check_memo
from typedmgr._replies import expect_replies, load_reply
from typedmgr._restricted import (
    LOAD_AMPLIFICATION,
    MAX_COLLISIONS,
    LoadBudgetExceeded,
    RefusedType,
    loads_replacing,
)

__all__ = [
    "BUILTIN_EXCEPTIONS",
    "LOAD_AMPLIFICATION",
    "MAX_COLLISIONS",
    "MAX_MEMO_INDEX",
    "AllowList",
    "LoadBudgetExceeded",
    "ProxyRecipe",
    "RefusedType",
    "adopt_rebuilt",
    "check_memo",
    "expect_replies",
    "load_reply",
    "loads_replacing",
    "rebuild_inert",
    "value_objects",
    "value_types",
]
