"""The GX suite run on a roster's checked columns, in this process: GX imported lean, its context built
once, its Data Docs pages rendered and cleaned for offline reading, one writer at a time."""
from __future__ import annotations

import copy
import importlib
import json
import logging
import re
import sys
import time
import types
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mappings import codelists

# GX logs hundreds of INFO lines as it registers its functions on import: quiet before any import of it.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@lru_cache(maxsize=None)
def suite_spec() -> dict:
    spec = json.loads(resources.files("expectations").joinpath("roster_basic.json").read_text(encoding="utf-8"))
    for exp in spec["expectations"]:
        value_set = exp["kwargs"].get("value_set")
        if isinstance(value_set, str) and value_set.startswith("$codes:"):
            name = value_set.split(":", 1)[1]
            exp["kwargs"]["value_set"] = sorted(set(codelists.lookup_table(name).values()))
    return spec


def run(data: pd.DataFrame, docs: tuple[str, str] | None = None, answer_first: bool = False):
    """(the suite's failures (pos, rule, column) on the checked columns, run in this process; a function
    that renders the run into its Data Docs, a no-op without docs). The failures do not wait for the pages:
    a GX process answers first and renders while the run goes on (expectations.gx_process).

    answer_first: the failures come from a plain validation (0.11 s for 11,000 rows), stored for the pages
    in render, after the answer, as a checkpoint stores its run: for a GX process, whose answer the run
    waits for. A second validation there (a checkpoint's, 0.28 s) cost CPU the run's own work after the
    answer needed: the machine has two cores, the run, PostgreSQL and the pages share them.
    """
    gx = _import_gx()
    from great_expectations.core.expectation_suite import ExpectationSuite

    spec = suite_spec()
    context = _gx_context()
    batch_definition = context.data_sources.get("roster").get_asset("members").get_batch_definition("all")
    folder, run_name = docs or ("", "")

    def checkpoint_run():
        """The run stored by a checkpoint, with its key: what the pages are rendered from."""
        suite = context.suites.add_or_update(ExpectationSuite(**copy.deepcopy(spec)))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=run_name, data=batch_definition, suite=suite))
        # The checkpoint stores the result; its pages are rendered apart (render), as its UpdateDataDocsAction would.
        checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
            name=f"checkpoint-{run_name}", validation_definitions=[definition], actions=[],
            result_format={"result_format": "COMPLETE"}))
        from great_expectations.core.run_identifier import RunIdentifier

        key, result = next(iter(checkpoint.run(batch_parameters={"dataframe": data},
                                               run_id=RunIdentifier(run_name=run_name)).run_results.items()))
        return key, suite, result

    def pages(key, suite) -> None:
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        with folder_lock(folder):
            started = time.time() - 1
            context.build_data_docs(site_names=[_docs_site(context, folder)],
                                    resource_identifiers=[key, ExpectationSuiteIdentifier(name=suite.name)])
            _offline_pages(folder, started)

    render = _no_pages
    if docs is None or answer_first:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
        result = batch.validate(ExpectationSuite(**copy.deepcopy(spec)), result_format={"result_format": "COMPLETE"})
        if docs is not None:
            def render() -> None:
                pages(*_store_as_run(gx, context, spec, batch_definition, batch.id, result, run_name))
    else:
        key, suite, result = checkpoint_run()

        def render() -> None:
            pages(key, suite)
    _forget_batches(context)
    parts = []
    for r in result.results:
        if r.success:
            continue
        positions = r.result.get("unexpected_index_list") or []
        column = r.expectation_config.kwargs["column"]
        parts.append(pd.DataFrame({"pos": np.asarray(positions, dtype="int64"),
                                   "rule": r.expectation_config.meta["rule"], "column": column}))
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["pos", "rule", "column"])
    return found, render


def _no_pages() -> None:
    pass


def _store_as_run(gx, context, spec: dict, batch_definition, batch_id: str, result, run_name: str):
    """A plain validation's result stored as a validation definition's run stores it (its suite, the run's
    identifiers in its meta, the results store): what the pages are rendered from. (key, suite)"""
    from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite = context.suites.add_or_update(ExpectationSuite(**copy.deepcopy(spec)))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=run_name, data=batch_definition, suite=suite))
    run_id = RunIdentifier(run_name=run_name)
    result.meta.update(validation_id=definition.id, checkpoint_id=None, run_id=run_id,
                       validation_time=run_id.run_time, batch_parameters={"dataframe": DATAFRAME_REPLACEMENT_STR})
    suite_key = ExpectationSuiteIdentifier(name=suite.name)
    key = ValidationResultIdentifier(batch_identifier=batch_id, expectation_suite_identifier=suite_key, run_id=run_id)
    context.validation_results_store.store_validation_results(
        suite_validation_result=result, suite_validation_result_identifier=key, expectation_suite_identifier=suite_key)
    return key, suite


def _forget_batches(context) -> None:
    """GX's execution engine keeps the last batch (the roster's checked columns) until the next one:
    a worker going on to its next source would carry the previous roster all along."""
    batches = context.data_sources.get("roster").get_execution_engine().batch_manager
    batches.reset_batch_cache()
    batches.batch_data_cache.clear()


# GX's pages load Bootstrap, jQuery, fonts and charts from public CDNs: with no network they stay blank.
_REMOTE_ASSET = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["']https?://[^"']*["'][^>]*>(?:\s*</script>)?""",
                           re.I)


def _offline_pages(folder: str, since: float) -> None:
    """Cut the remote assets out of the GX pages written since `since`: they keep GX's own stylesheet shipped
    beside them (static/), and open offline, plain but whole, and without asking any outside server."""
    for page in Path(folder).rglob("*.html"):
        try:
            if page.stat().st_mtime >= since:
                text = page.read_text(encoding="utf-8")
                page.write_text(_REMOTE_ASSET.sub("", text), encoding="utf-8")
        except FileNotFoundError:   # a page GX's build removed after it was listed: nothing to clean
            continue


def _docs_site(context, folder: str) -> str:
    """One Data Docs site per output folder; every run adds its page to the site's index."""
    name = "misgw-" + str(abs(hash(folder)))
    if name not in (context.get_site_names() or []):
        context.add_data_docs_site(site_name=name, site_config={
            "class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": folder}})
    return name


def warm_up() -> None:
    """Import GX and build its context now, and the suite with its code lists: the source processes forked
    after this inherit them, so GX's import (most of a small source's time, docs/benchmarks.md) is paid
    once per sync, not once per source; a GX process has them ready before its first job."""
    _gx_context()
    suite_spec()


class _Deferred(types.ModuleType):
    """A module imported on first use of one of its names (its placeholder leaves sys.modules then)."""

    def __getattr__(self, attr):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _defer_unused_imports() -> None:
    """GX imports scipy.stats and altair for one expectation the suite never uses (KL divergence): about
    40% of GX's import time (docs/benchmarks.md); and jsonschema (0.13 s) for another (values matching a JSON
    schema). They are imported if anything ever uses them."""
    for name in ("scipy.stats", "altair", "jsonschema"):
        if name not in sys.modules:
            sys.modules[name] = _Deferred(name)


def _import_gx():
    if "great_expectations" not in sys.modules:
        _defer_unused_imports()
    import great_expectations as gx

    return gx


@lru_cache(maxsize=1)
def _gx_context():
    gx = _import_gx()

    # GX sets INFO on some of its own loggers ("ephemeral docs site"): quiet them all, not just the root one.
    for name in ["great_expectations", *logging.root.manager.loggerDict]:
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)
    _templates_compiled_once()
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # older GX: progress bars stay on, which is harmless
        pass
    asset = context.data_sources.add_pandas("roster").add_dataframe_asset("members")
    asset.add_batch_definition_whole_dataframe("all")
    return context


def _templates_compiled_once() -> None:
    """GX makes a new jinja environment for every page it renders, and compiles its templates again each
    time: two thirds of a page's 0.3 s, paid by every source's run. jinja's own bytecode cache (on disk, in
    the system's temporary folder, one per user) compiles each template once per machine; the pages are
    the same (docs/benchmarks.md)."""
    import functools

    import jinja2
    from great_expectations.render.view import view

    if isinstance(view.Environment, functools.partial):
        return
    try:
        cache = jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):    # no safe temporary folder: GX compiles as it always did
        return
    setattr(view, "Environment", functools.partial(jinja2.Environment, bytecode_cache=cache))   # GX names it there


@contextmanager
def folder_lock(folder: str | Path):
    """One writer at a time in a Data Docs folder: sources judged side by side each add their pages and
    rewrite the pages they share (our index, GX's index and suite page), which a reader mid-write would
    find half written or gone."""
    import fcntl

    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
