"""Entry point of ``python -m skdec`` and of the ``skdec`` console script."""

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
