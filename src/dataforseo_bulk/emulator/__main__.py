"""``python -m dataforseo_bulk.emulator --help``"""

from __future__ import annotations

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
