"""Web-service sources against a real HTTP server on 127.0.0.1: paging styles, slow pages, 503, 429, bad pages, auth."""
from __future__ import annotations

import json
import os
from pathlib import Path

import legacy_db
import pytest
from roster_api import RosterApi, households_from
from rosters import write_config, write_roster
from test_odbc import sync
from test_pipeline import dump_checksum, mis_db  # noqa: F401  (mis_db is a fixture)


@pytest.fixture(scope="module")
def roster():
    rows, truth = legacy_db.roster(households=240, seed=9)
    return households_from(rows), truth


def _source(url: str, **options) -> dict:
    return {"id": "pd-api", "kind": "rest", "url": url, "members": "ThanhVien", "key": "ID",
            "household_column": "MaHo", "district_code": "926", "timeout": 1, "retries": 3, "backoff": 0.1,
            **options}


def test_pages_that_are_slow_busy_or_rate_limited_all_load(tmp_path, mis_db, roster):  # noqa: F811
    households, truth = roster
    with RosterApi(households) as api:
        api.faults[("/households", 2)] = ["slow", "ok"]        # a timeout, then an answer
        api.faults[("/households", 3)] = ["503", "ok"]         # busy, then an answer
        api.faults[("/households", 4)] = ["429", "ok"]         # rate-limited, Retry-After: 1
        cfg = write_config(tmp_path / "misgw.yaml", [_source(
            api.url("/households"), paging={"style": "page", "param": "page", "size_param": "page_size",
                                            "size": 50})])
        code, [run], err = sync(cfg, mis_db)
        hits = list(api.hits)
    assert code == 0 and run["status"] == "success", (run["error"], err)
    assert run["households_accepted"] == 240 and run["members_accepted"] == truth["members"], run
    assert run["rows_rejected"] == 0
    by_page = {}
    for at, path, page, status in hits:
        by_page.setdefault(page, []).append((at, status))
    assert len(by_page[2]) == 2                                 # the slow call was asked again
    assert [s for _, s in by_page[3]] == [503, 200]
    (t429, s429), (t_ok, s_ok) = by_page[4]
    assert (s429, s_ok) == (429, 200) and t_ok - t429 >= 1.0    # Retry-After honoured
    assert sorted(by_page) == [1, 2, 3, 4, 5]                   # 240 households in pages of 50


def test_a_malformed_page_fails_its_source_clearly_and_loads_nothing(tmp_path, mis_db, roster):  # noqa: F811
    households, _ = roster
    write_roster(tmp_path / "d" / "x.xlsx")
    with RosterApi(households) as api:
        api.faults[("/households", 3)] = ["malformed"] * 5
        cfg = write_config(tmp_path / "misgw.yaml", [
            _source(api.url("/households"), paging={"style": "page", "size": 50}),
            {"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"}])
        before = dump_checksum(mis_db)
        code, runs, err = sync(cfg, mis_db, "--source", "pd-api")
        assert code == 1 and "Traceback" not in err
        [run] = runs
        assert run["status"] == "failed" and "(page 3)" in run["error"] and "not valid JSON" in run["error"], run
        assert "«<html><body>Lỗi máy chủ</body></html>»" in run["error"] and "nothing of this source" in run["error"]
        assert dump_checksum(mis_db) == before                  # pages 1 and 2 were read, none of it loaded
        code, runs, err = sync(cfg, mis_db)
    by_id = {r["source_id"]: r for r in runs}
    assert by_id["pd-api"]["status"] == "failed" and by_id["pd"]["status"] == "success"


@pytest.mark.parametrize("path, paging", [
    ("/offset", {"style": "offset", "param": "offset", "size_param": "limit", "size": 40}),
    ("/cursor", {"style": "cursor", "param": "cursor", "next": "meta.next_cursor"}),
    ("/linked", {"style": "next", "next": "links.next"}),
])
def test_every_paging_style_reads_every_record(path, paging, roster):
    from connectors.rest import RestSource

    households, truth = roster
    with RosterApi(households) as api:
        options = RestSource.check_options(_source(api.url(path), paging=paging), "test")
        source = RestSource("pd-api", options, Path("."))
        [sheet] = list(source.read(source.plan(None)))
        rows = list(sheet.rows)
    header, *data = rows
    assert header[1][:2] == ["ID", "MaHo"] and "HoTen" in header[1] and "ThanhVien" not in header[1]
    assert len(data) == truth["members"] and [n for n, _ in data] == list(range(2, 2 + len(data)))
    assert len({cells[0] for _, cells in data}) == truth["members"]    # every member once


@pytest.mark.parametrize("kind, fields", [
    ("basic", {"login": "huyen", "password": "mat-khau"}),
    ("bearer", {"password": "tok-123", "extra": {"auth": "bearer"}}),
    ("api_key", {"password": "k-456", "extra": {"auth": "api_key", "header": "X-API-Key"}}),
])
def test_credentials_come_from_an_airflow_connection(tmp_path, mis_db, roster, kind, fields):  # noqa: F811
    households, _ = roster
    secret = {"basic": "huyen:mat-khau", "bearer": "tok-123", "api_key": "k-456"}[kind]
    with RosterApi(households[:20], auth={"kind": kind, "value": secret}) as api:
        cfg = write_config(tmp_path / "misgw.yaml", [_source(api.url("/households"), conn_id="district_api",
                                                             paging={"style": "page", "size": 50})])
        env = {"AIRFLOW_CONN_DISTRICT_API": json.dumps({"conn_type": "http", **fields})}
        code, [run], err = sync(cfg, mis_db, env=env)
        assert run["status"] == "success" and run["households_accepted"] == 20, run
        wrong = {"AIRFLOW_CONN_DISTRICT_API": json.dumps({"conn_type": "http", "login": "x", "password": "nope"})}
        code, [run], err = sync(cfg, mis_db, "--full", env=wrong)
    assert run["status"] == "failed" and "refused (401)" in run["error"] and "district_api" in run["error"]
    assert "nope" not in json.dumps(run) + err and secret not in json.dumps(run) + err


def test_an_incremental_service_is_asked_only_for_what_changed(tmp_path, mis_db, roster):  # noqa: F811
    households, truth = roster
    households = json.loads(json.dumps(households))
    with RosterApi(households) as api:
        cfg = write_config(tmp_path / "misgw.yaml", [_source(
            api.url("/cursor"), paging={"style": "cursor", "next": "meta.next_cursor"},
            incremental_param="updated_since", incremental_field="updated_at")])
        code, [first], err = sync(cfg, mis_db)
        assert first["households_accepted"] == 240, (first["error"], err)
        before = dump_checksum(mis_db)
        code, [second], err = sync(cfg, mis_db)
        assert second["status"] == "success" and second["rows_read"] == 0, second
        assert dump_checksum(mis_db) == before
        households[7]["PhanLoai"], households[7]["ThuNhap"] = "Hộ cận nghèo", 1_400_000
        households[7]["updated_at"] = "2025-09-01T08:00:00"
        code, [third], err = sync(cfg, mis_db)
    assert third["rows_read"] == len(households[7]["ThanhVien"]), third
    assert third["reconcile"]["missing"] == 0 and third["reconcile"]["changed"] + third["reconcile"]["unchanged"] == 1


def test_config_checks_rest_options(tmp_path):
    import re

    from misgw.config import ConfigError, load_config

    cases = [({"url": "ftp://x"}, "'url' must start with http(s)://"),
             ({"url": "http://x", "paging": {"style": "scroll"}}, "style must be one of none, page"),
             ({"url": "http://x", "paging": {"style": "cursor"}}, "with style cursor needs 'next'"),
             ({"url": "http://x", "incremental_param": "since"}, "go together"),
             ({"url": "http://x", "incremental_param": "s", "incremental_field": "u"}, "needs household records")]
    for extra, message in cases:
        cfg = write_config(tmp_path / "misgw.yaml", [{"id": "x", "kind": "rest", **extra}])
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(cfg)
    assert os.environ.get("AIRFLOW_CONN_DISTRICT_API") is None
