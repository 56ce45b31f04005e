"""``python -m typedmgr``: the same as the ``typedmgr`` command."""

from typedmgr._cli import main

raise SystemExit(main())
