"""What every stage shares: the run it works on (a frozen RunContext), its timing, and who runs it."""
from __future__ import annotations

import functools
import time
from contextlib import contextmanager
from dataclasses import dataclass

from mis import db, runs
from misgw.config import Config, Source, load_config


@dataclass(frozen=True)
class RunContext:
    """One sync run as a stage starts it: the run's row, the sources file it was started with, its source."""
    run_id: str
    run: dict
    config: Config
    source: Source

    @property
    def options(self) -> dict:
        return self.run["options"]


def context(run_id: str, stage: str | None = None) -> RunContext:
    """The run, read afresh (a stage may run on another worker than the one before); stage: record it as the run's."""
    with db.get_engine().begin() as conn:
        if stage:
            runs.update_run(conn, run_id, stage=stage)
        run = runs.get_run(conn, run_id)
    config = load_config(run["options"]["config"])
    return RunContext(run_id, run, config, config.source(run["source_id"]))


def timed(stage):
    """A stage's wall time, kept on its run (sync_run.stage_seconds), whether the CLI or Airflow runs it."""
    @functools.wraps(stage)
    def timed_stage(run_id: str, *args, **kwargs):
        started = time.monotonic()
        result = None
        try:
            with _few_collections():
                result = stage(run_id, *args, **kwargs)
            return result
        finally:
            seconds = time.monotonic() - started
            with db.get_engine().begin() as conn:
                runs.record_stage_seconds(conn, run_id, stage.__name__, seconds)
            if isinstance(result, dict) and isinstance(result.get("stage_seconds"), dict):
                # The run's summary (report's result) was made before its own stage ended.
                result["stage_seconds"][stage.__name__] = round(seconds, 2)
            _give_back_memory()
    return timed_stage


@contextmanager
def _few_collections():
    """Python's cycle collector at rare intervals while a stage runs. A stage makes millions of small objects
    (a sheet's cells, JSON rows, workbook cells) that form no cycles; at the default thresholds the collector
    walked them thousands of times per source (docs/benchmarks.md has the cost). Young cycles are still
    collected; the stage's end collects everything (_give_back_memory)."""
    import gc

    from common.collector import collect_rarely

    # What exists before a stage is long-lived (modules, the engine, caches; each stage's end has collected
    # and frozen what it left, _give_back_memory): the first stage's end then walks its own objects only,
    # not every imported module's (0.04 s on a dry run's path).
    gc.freeze()
    before = collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _give_back_memory() -> None:
    """Hand the memory a stage freed back to the system. glibc keeps freed heap pages for reuse, so the
    process would hold the peak of its biggest stage through the stages after it."""
    import ctypes
    import gc

    gc.collect()
    # What survives is long-lived (modules, GX, caches, the engine): later collections need not walk it again.
    gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to hand back this way
        pass


def operator() -> str:
    """Who runs the sync, for the change history: MISGW_OPERATOR, the Airflow DAG run, or the OS user."""
    import getpass
    import os

    if os.environ.get("MISGW_OPERATOR"):
        return os.environ["MISGW_OPERATOR"]
    if os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return f"airflow:{os.environ['AIRFLOW_CTX_DAG_ID']}/{os.environ.get('AIRFLOW_CTX_DAG_RUN_ID', '')}"
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def nonzero(counts: dict) -> str:
    """"448 new, 2 missing": the counts a person reads, without the zeros."""
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v)
