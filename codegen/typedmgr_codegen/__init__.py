"""typedmgr-codegen: the build-time generator behind ``typedmgr gen``.

The pipeline, one module a stage:

    load    import the targets and find their TypedManager classes
    render  Protocol models (``typedmgr.model``) -> template context -> source text
    layout  line breaking of its own, so the output is byte-identical everywhere
    write   put files in place, or with --check diff them against the disk
    cli     ``typedmgr gen`` arguments and ``[tool.typedmgr]`` in pyproject.toml

Data flows one way: Protocol -> model -> rendered file. Decisions about what a Protocol means
belong to ``typedmgr.model``; decisions about spelling it belong to ``render``; the templates
only lay text out.
"""

__version__ = "0.1.0"
