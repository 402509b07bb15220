"""`python -m translator` is the `nmt` command."""

import sys

from translator.cli import main

sys.exit(main())
