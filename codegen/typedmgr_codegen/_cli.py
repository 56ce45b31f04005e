"""Cli: ``typedmgr gen`` arguments, and ``[tool.typedmgr]`` in pyproject.toml."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typedmgr import TypedManager
from typedmgr._model import InterfaceError, Param, protocol_of
from typedmgr_codegen._imports import Imports
from typedmgr_codegen._load import TargetError, load_managers
from typedmgr_codegen._render import collect_interfaces, render_module
from typedmgr_codegen._spelling import TypeWriter
from typedmgr_codegen._write import Output, stale_diff, write

__all__ = ["main"]


#: Every key ``[tool.typedmgr]`` accepts, and what it holds (docs/configuration.md).
KEYS: dict[str, str] = {
    "targets": "a list of strings",
    "out": "a string",
    "stubs-dir": "a string",
    "path": "a list of strings",
}


class ConfigError(Exception):
    """``[tool.typedmgr]`` or the command line asks for something ambiguous or wrong."""


@dataclass
class Config:
    """What to generate, from the command line over ``[tool.typedmgr]``."""

    targets: list[str] = field(default_factory=list)
    out: Path | None = None
    stubs_dir: Path | None = None
    path: list[Path] = field(default_factory=list)
    source: Path | None = None
    """The pyproject.toml this was read from, if any."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``typedmgr gen``; 0 on success, 1 when ``--check`` finds stale files, 2 on errors."""
    parser = argparse.ArgumentParser(
        prog="typedmgr gen",
        description="Generate typed proxy modules and .pyi stubs from registered Protocols.",
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="module:ManagerClass, or a module (all its TypedManagers); "
        "default: [tool.typedmgr] targets in pyproject.toml",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="path of the generated .py module; its .pyi is written beside it "
        "(default: [tool.typedmgr] out, else MODULE_proxies.py beside the first "
        "manager's module)",
    )
    parser.add_argument(
        "--stubs-dir",
        type=Path,
        help="write the .pyi into this stub tree instead, at the module's import path "
        "(for a stub-only distribution)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a diff and exit 1 if files are stale",
    )
    parser.add_argument(
        "--dump-model",
        action="store_true",
        help="print the interface model as JSON and exit",
    )
    args = parser.parse_args(argv)
    try:
        configured = _config(Path.cwd())
        config = _merge(configured, args)
    except ConfigError as exc:
        print(f"typedmgr gen: error: {exc}", file=sys.stderr)
        return 2
    if not config.targets:
        parser.error("no TARGET given and no [tool.typedmgr] targets in pyproject.toml")
    sys.path[:0] = [str(p) for p in [*config.path, Path.cwd()]]
    try:
        managers = load_managers(config.targets)
        if args.dump_model:
            print(json.dumps(_dump(managers), indent=2))
            return 0
        module = render_module(managers)
        py_path = config.out or _default_out(managers[0])
        _refuse_overwriting(configured, config, py_path)
    except (TargetError, InterfaceError, ConfigError) as exc:
        print(f"typedmgr gen: error: {exc}", file=sys.stderr)
        return 2
    outputs = [
        Output(py_path, module.source),
        Output(_stub_path(py_path, config), module.stub),
    ]
    if args.check:
        diff = stale_diff(outputs)
        if diff:
            sys.stdout.write(diff)
            print(
                "typedmgr gen: generated files are stale; run `typedmgr gen`",
                file=sys.stderr,
            )
            return 1
        return 0
    for path in write(outputs):
        print(f"wrote {path}")
    return 0


def _config(start: Path) -> Config:
    """``[tool.typedmgr]`` of the nearest pyproject.toml, paths resolved against its folder.

    A key it does not know, or a value of the wrong type, is an error naming the key.
    """
    for directory in (start, *start.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{pyproject}: {exc}") from None
            table = document.get("tool", {}).get("typedmgr", {})
            return _validated(table, directory, pyproject)
    return Config()


def _validated(table: object, directory: Path, pyproject: Path) -> Config:
    where = f"{pyproject} [tool.typedmgr]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{where}: unknown key {key!r}{hint} (known: {', '.join(KEYS)})"
            )
        wanted = KEYS[key]
        if wanted == "a string":
            ok = isinstance(value, str)
        else:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not ok:
            raise ConfigError(
                f"{where}: {key} must be {wanted}, not {_toml_type(value)}"
                + (f' (write {key} = ["{value}"])' if isinstance(value, str) else "")
            )
    return Config(
        targets=list(table.get("targets", [])),
        out=directory / table["out"] if "out" in table else None,
        stubs_dir=directory / table["stubs-dir"] if "stubs-dir" in table else None,
        path=[directory / p for p in table.get("path", [])],
        source=pyproject,
    )


def _toml_type(value: object) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list holding something other than strings"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _merge(configured: Config, args: argparse.Namespace) -> Config:
    """The command line over the configuration.

    ``out`` and ``stubs-dir`` in ``[tool.typedmgr]`` belong to its ``targets``: targets
    given on the command line (other than the configured ones) take their outputs from the
    command line or the default, never from the configuration.
    """
    config = Config(path=configured.path, source=configured.source)
    own_targets = (
        not args.targets
        or not configured.targets  # outputs configured for command-line targets
        or set(args.targets) == set(configured.targets)
    )
    config.targets = configured.targets if not args.targets else list(args.targets)
    config.out = args.out or (configured.out if own_targets else None)
    config.stubs_dir = args.stubs_dir or (configured.stubs_dir if own_targets else None)
    return config


def _refuse_overwriting(configured: Config, config: Config, py_path: Path) -> None:
    """Refuse to write other targets' code over the files ``[tool.typedmgr]`` generates."""
    if not configured.targets or set(config.targets) == set(configured.targets):
        return
    out = configured.out
    if out is None:  # the configured targets' default module, beside the first one's
        try:
            out = _default_out(load_managers(configured.targets)[0])
        except (TargetError, InterfaceError):
            return  # not generated as configured either: nothing to overwrite
    ours = {out.resolve(), _stub_path(out, configured).resolve()}
    mine = {py_path.resolve(), _stub_path(py_path, config).resolve()}
    if ours & mine:
        clash = sorted(str(p) for p in ours & mine)[0]
        raise ConfigError(
            f"{clash} is generated from [tool.typedmgr] targets "
            f"{', '.join(configured.targets)} ({configured.source}); "
            f"targets {', '.join(config.targets)} would overwrite it: pass another --out"
        )


def _default_out(manager: type) -> Path:
    source = Path(sys.modules[manager.__module__].__file__ or "")
    return source.with_name(f"{source.stem}_proxies.py")


def _stub_path(py_path: Path, config: Config) -> Path:
    if config.stubs_dir is None:
        return py_path.with_suffix(".pyi")
    return config.stubs_dir / _module_path(py_path.resolve()).with_suffix(".pyi")


def _module_path(py_path: Path) -> Path:
    """``py_path`` relative to the import root it lives under (its top package's parent)."""
    root = py_path.parent
    while (root / "__init__.py").is_file():
        root = root.parent
    return py_path.relative_to(root)


class _DumpWriter:
    """Annotations and defaults spelled with their modules' real names (``shop.api.Cart``),
    not the generated code's import aliases (``_shop_api.Cart``)."""

    def __init__(self) -> None:
        self.imports = Imports()
        self.writer = TypeWriter(self.imports, {})

    def spell(self, tp: object) -> str:
        return self._unaliased(self.writer.spell(tp))

    def literal(self, value: object) -> str:
        return self._unaliased(self.writer.literal(value))

    def _unaliased(self, text: str) -> str:
        for module, alias in sorted(
            self.imports.names.items(), key=lambda m: -len(m[1])
        ):
            text = re.sub(rf"(?<![\w.]){re.escape(alias)}\.", f"{module}.", text)
        for name, (module, original) in self.imports.imported.items():
            text = re.sub(
                rf"(?<![\w.]){re.escape(name)}(?!\w)", f"{module}.{original}", text
            )
        return text


def _dump(managers: Sequence[type[TypedManager]]) -> dict[str, object]:
    writer = _DumpWriter()

    def param(p: Param) -> dict[str, object]:
        # "has_default" tells a default of None ("default": "None") from none at all.
        return {
            "name": p.name,
            "kind": p.kind.value,
            "annotation": writer.spell(p.annotation),
            "has_default": p.has_default,
            "default": writer.literal(p.default) if p.has_default else None,
        }

    return {
        "managers": {
            f"{m.__module__}:{m.__qualname__}": {
                typeid: {"protocol": _qualname(proto), "create_method": create}
                for typeid, (proto, _, create) in m._protocols_.items()
            }
            for m in managers
        },
        "interfaces": [
            {
                "protocol": f"{i.module}:{i.protocol.__qualname__}",
                "doc": i.doc,
                "methods": [
                    {
                        "name": m.name,
                        "params": [param(p) for p in m.params],
                        "returns": writer.spell(m.returns),
                        "return_kind": m.return_kind.value,
                        "remote": m.remote
                        and f"{m.remote.__module__}:{m.remote.__qualname__}",
                        "doc": m.doc,
                        "oneway": m.oneway,
                        "async": m.is_async,
                        "property": m.is_property,
                        "overloads": [
                            {
                                "params": [param(p) for p in o.params],
                                "returns": writer.spell(o.returns),
                            }
                            for o in m.overloads
                        ],
                    }
                    for m in i.methods
                ],
            }
            for i in collect_interfaces(managers)
        ],
    }


def _qualname(registered: object) -> str:
    """The qualified name of a registered Protocol, bare or parametrized (``Box[int]``)."""
    protocol = protocol_of(registered)
    assert protocol is not None
    return protocol.__qualname__
