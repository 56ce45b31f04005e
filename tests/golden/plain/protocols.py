"""Evaluated annotations (no __future__ import), typing aliases, factory creation methods."""

from typing import Dict, List, Optional, Protocol

from typedmgr import TypedManager


class Store(Protocol):
    def get(self, key: str) -> Optional[bytes]: ...

    def put(self, key: str, value: bytes) -> None: ...

    def keys(self) -> List[str]: ...

    def sizes(self) -> Dict[str, int]: ...


class StoreImpl:
    def __init__(self, capacity, name="store"):  # type: ignore[no-untyped-def]
        self.data: Dict[str, bytes] = {}

    def get(self, key: str) -> Optional[bytes]:
        return self.data.get(key)

    def put(self, key: str, value: bytes) -> None:
        self.data[key] = value

    def keys(self) -> List[str]:
        return list(self.data)

    def sizes(self) -> Dict[str, int]:
        return {k: len(v) for k, v in self.data.items()}


def shared_store(prefix: str = "") -> StoreImpl:
    return StoreImpl(10)  # type: ignore[no-untyped-call]


class PlainManager(TypedManager):
    pass


PlainManager.register(Store, StoreImpl)
PlainManager.register(Store, shared_store, protocol_typeid="SharedStore")
