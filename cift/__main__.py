"""``python -m cift ...``: the ``cift`` command, for environments whose scripts folder is not
on PATH (a notebook's ``!python -m cift ingest ...``)."""

import sys

from cift.cli import main

sys.exit(main())
