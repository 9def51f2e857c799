"""``python -m sim`` does what the ``handover`` command does."""

import sys

from sim.cli import main

sys.exit(main())
