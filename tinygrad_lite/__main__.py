"""`python -m tinygrad_lite ...` is the `tinygrad-lite` command."""
import sys

from .cli import main

sys.exit(main())
