"""Connectors read sources exactly as they are (workbooks, legacy databases over ODBC, web services), with lineage."""
from __future__ import annotations

from importlib import import_module

# kind -> "module:class"; a new kind of source is one module and one line here.
KINDS = {
    "spreadsheet": "connectors.spreadsheet:SpreadsheetSource",
    "odbc": "connectors.odbc:OdbcSource",
    "rest": "connectors.rest:RestSource",
}


def connector_class(kind: str):
    module, name = KINDS[kind].split(":")
    return getattr(import_module(module), name)
