"""``python -m typedmgr``: the same as the ``typedmgr`` command."""

from typedmgr.cli import main

raise SystemExit(main())
