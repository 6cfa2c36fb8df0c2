from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataforseo_bulk.emulator import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger for one emulator, in the test's own temp dir."""
    ledger = Ledger(tmp_path / "ledger.sqlite")
    yield ledger
    ledger.close()
