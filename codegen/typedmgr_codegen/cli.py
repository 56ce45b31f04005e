"""Cli: ``typedmgr gen`` arguments, and ``[tool.typedmgr]`` in pyproject.toml."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typedmgr import TypedManager
from typedmgr.model import InterfaceError, Param
from typedmgr_codegen.load import TargetError, load_managers
from typedmgr_codegen.render import (
    Imports,
    TypeWriter,
    collect_interfaces,
    render_module,
)
from typedmgr_codegen.write import Output, stale_diff, write

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = ["main"]


@dataclass
class Config:
    """What to generate, from the command line over ``[tool.typedmgr]``."""

    targets: list[str] = field(default_factory=list)
    out: Path | None = None
    stubs_dir: Path | None = None
    path: list[Path] = field(default_factory=list)


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
    parser.add_argument("--out", type=Path, help="path of the generated .py module")
    parser.add_argument(
        "--stubs-dir", type=Path, help="write the .pyi into this stub tree"
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
    config = _config(Path.cwd())
    if args.targets:
        config.targets = list(args.targets)
    config.out = args.out or config.out
    config.stubs_dir = args.stubs_dir or config.stubs_dir
    if not config.targets:
        parser.error("no TARGET given and no [tool.typedmgr] targets in pyproject.toml")
    sys.path[:0] = [str(p) for p in [*config.path, Path.cwd()]]
    try:
        managers = load_managers(config.targets)
        if args.dump_model:
            print(json.dumps(_dump(managers), indent=2))
            return 0
        module = render_module(managers)
    except (TargetError, InterfaceError) as exc:
        print(f"typedmgr gen: error: {exc}", file=sys.stderr)
        return 2
    py_path = config.out or _default_out(managers[0])
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
    for directory in (start, *start.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = (
                tomllib.loads(pyproject.read_text()).get("tool", {}).get("typedmgr", {})
            )
            return Config(
                targets=list(table.get("targets", [])),
                out=directory / table["out"] if "out" in table else None,
                stubs_dir=directory / table["stubs-dir"]
                if "stubs-dir" in table
                else None,
                path=[directory / p for p in table.get("path", [])],
            )
    return Config()


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


def _dump(managers: Sequence[type[TypedManager]]) -> dict[str, object]:
    writer = TypeWriter(Imports(), {})

    def param(p: Param) -> dict[str, object]:
        return {
            "name": p.name,
            "kind": p.kind.value,
            "annotation": writer.spell(p.annotation),
            "default": writer.literal(p.default) if p.has_default else None,
        }

    return {
        "managers": {
            f"{m.__module__}:{m.__qualname__}": {
                typeid: {"protocol": proto.__qualname__, "create_method": create}
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
