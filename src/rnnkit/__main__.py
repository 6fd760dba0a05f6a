"""``python -m rnnkit`` = the ``rnnkit`` command."""

import sys

from .cli import main

sys.exit(main())
