"""`python -m mp107` is the `mp107` command."""
import sys

from mp107.cli import main

sys.exit(main())
