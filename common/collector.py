"""The cycle collector's thresholds for work that makes many objects and few cycles: imports, a stage's rows."""
from __future__ import annotations

import gc

# Young cycles every 100,000 allocations instead of 700; the old generations rarely.
RARELY = (100_000, 50, 1000)


def collect_rarely() -> tuple[int, int, int]:
    """Set RARELY; return the thresholds it replaced. At the default ones the collector walked a stage's
    rows, or an import's long-lived objects, over and over (docs/benchmarks.md has the costs)."""
    before = gc.get_threshold()
    gc.set_threshold(*RARELY)
    return before
