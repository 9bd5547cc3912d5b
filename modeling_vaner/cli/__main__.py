"""`python -m modeling_vaner.cli` (also under `torchrun -m` and `accelerate launch -m`): the `vaner` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
