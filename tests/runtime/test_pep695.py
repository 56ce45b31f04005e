"""PEP 695 (``class Box[T](Protocol)``) means what ``class Box(Protocol[T])`` means.

The PEP 695 module is imported on Python 3.12+ only, by name (so mypy never follows it on
older Pythons), and nothing of it reaches the golden files.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from typedmgr import interface_of
from typedmgr._proxy import TypedIterator, TypedProxy, proxy_class_for

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 is Python 3.12+"),
]

PROTOCOLS = ("Box", "Pair", "Crate")


def class_of(obj: object) -> type:
    """``type(obj)``, which an ``is`` comparison does not narrow ``obj`` through."""
    return type(obj)


@pytest.fixture(scope="module")
def pep695() -> ModuleType:
    return importlib.import_module("tests.runtime.pep695_protocols")


@pytest.fixture(scope="module")
def classic() -> ModuleType:
    return importlib.import_module("tests.runtime.pep695_classic")


def test_the_model_is_the_same(pep695: ModuleType, classic: ModuleType) -> None:
    """Same methods, signatures, return kinds and type parameters (variance inferred)."""
    for name in PROTOCOLS:
        new, old = (
            interface_of(getattr(pep695, name)),
            interface_of(getattr(classic, name)),
        )
        # The signatures differ only in how they mark variance: ``~T`` (invariant), ``T``.
        assert [line.replace("~", "") for line in old.signature_lines] == list(
            new.signature_lines
        )
        assert [m.return_kind for m in old.methods] == [
            m.return_kind for m in new.methods
        ]
        params: list[Any] = [*old.type_params, *new.type_params]
        assert [(t.__name__, t.__bound__) for t in params[: len(old.type_params)]] == [
            (t.__name__, t.__bound__) for t in params[len(old.type_params) :]
        ]
        assert all(t.__infer_variance__ for t in params[len(old.type_params) :])


def test_the_generated_module_is_the_same(
    pep695: ModuleType, classic: ModuleType
) -> None:
    """Rendered alike, but for the module names and the fingerprints (which name them)."""
    from typedmgr_codegen._render import render_module

    new = render_module([pep695.Pep695Manager])
    old = render_module([classic.Pep695Manager])

    def normalised(text: str, module: str) -> str:
        text = re.sub(r'_fingerprint_ = "[0-9a-f]+"', "_fingerprint_ = ...", text)
        return text.replace(module, "M").replace(module.replace(".", "_"), "M")

    for new_text, old_text in ((new.source, old.source), (new.stub, old.stub)):
        assert normalised(old_text, "tests.runtime.pep695_classic") == normalised(
            new_text, "tests.runtime.pep695_protocols"
        )
    assert '_T = _typing.TypeVar("_T")' in new.source  # inferred variance: invariant


def test_runtime_built_proxies_serve(pep695: ModuleType) -> None:
    """register(Box[int], ...) serves through proxies built from the model."""
    with pep695.Pep695Manager(address=("127.0.0.1", 0), authkey=b"695") as m:
        box = m.IntBox(3)
        assert proxy_class_for(pep695.Box) is class_of(box)
        box.put(4)
        assert 4 == box.get()
        pair = box.labelled("latest")
        assert proxy_class_for(pep695.Pair) is class_of(pair)
        assert ("latest", 4) == (pair.first(), pair.second())
        history = box.history()
        assert issubclass(class_of(history), TypedIterator)
        assert [3, 4] == list(history)
        assert "" == m.StrCrate().box().get()


def test_generated_proxies_serve(
    pep695: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated module's generic proxies and manager work against its server."""
    from typedmgr_codegen._render import render_module

    (tmp_path / "pep695_proxies.py").write_text(
        render_module([pep695.Pep695Manager]).source
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    generated = importlib.import_module("pep695_proxies")
    try:
        with generated.Pep695Manager(address=("127.0.0.1", 0), authkey=b"695") as m:
            box = m.IntBox(5)
            assert generated.BoxProxy is class_of(box)
            assert issubclass(class_of(box), TypedProxy)
            assert ("x", 5) == (
                box.labelled("x").first(),
                box.labelled("x").second(),
            )
            assert generated.PairProxy is class_of(box.labelled("x"))
            assert generated.BoxProxy is class_of(m.StrCrate("s").box())
    finally:
        sys.modules.pop("pep695_proxies", None)
