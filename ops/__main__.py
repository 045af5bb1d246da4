"""``python -m ops``: see ops/cli.py."""

import sys

from ops.cli import main

sys.exit(main())
