"""typedmgr-codegen: the build-time generator behind ``typedmgr gen``.

The pipeline, one module a stage:

    load       import the targets and find their TypedManager classes
    render     Protocol models (``typedmgr._model``) -> template contexts -> source text
    _contexts  each generated class and method as code items (the decisions)
    _spelling  annotations and values -> source text; ``_imports``: what that imports
    _aliases   a Protocol's type aliases, which the proxies name as it did
    layout     line breaking of its own, so the output is byte-identical everywhere
    write      put files in place, or with --check diff them against the disk
    cli        ``typedmgr gen`` arguments and ``[tool.typedmgr]`` in pyproject.toml

Data flows one way: Protocol -> model -> rendered file. Decisions about what a Protocol means
belong to ``typedmgr._model``; decisions about spelling it to ``_spelling``; the templates
only lay text out, and ``render`` alone calls ``layout``.
"""

__version__ = "0.1.0"
