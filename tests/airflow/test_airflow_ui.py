"""The demo province run in a real Airflow (api-server, scheduler, dag-processor, triggerer): every run green,
notes on the runs, the province DAG on its Asset, the MIS Gateway page behind Airflow's sign-in (seen in headless
Chromium), the approval brake answered through the REST API, and alerts to local SMTP and HTTP servers."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import registry_truth
import requests
import sqlalchemy as sa
import yaml
from airflow_cluster import Cluster
from browser import SCREENSHOTS, misgw_page_in_airflow, screenshot_of_misgw_page
from conftest import CROSSWALK_CSV, PRE2025_CSV, create_database, drop_database
from inbox import Inbox

pytestmark = pytest.mark.slow
THOI_LAI = "31267"          # Xã Thới Thạnh, Huyện Thới Lai (927): a district the demo does not use


class AlertInbox(Inbox):
    """The alerts' inbox (tests/support/inbox.py), waited on for one kind of alert."""

    def wait(self, event: str, timeout: float = 120) -> tuple[dict, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hooks = [h for h in map(json.loads, self.hooks) if h["event"] == event]
            mails = [m for m in self.mails if ("phê duyệt" if event == "awaiting_approval" else "thất bại")
                     in _subject(m["data"])]
            if hooks and mails:
                return hooks[-1], mails[-1]
            time.sleep(1)
        raise AssertionError(f"no {event} alert: hooks {self.hooks}, mails {len(self.mails)}")


def _subject(data: str) -> str:
    import email
    from email.header import decode_header, make_header

    return str(make_header(decode_header(email.message_from_string(data)["Subject"] or "")))


def _thoi_lai_roster(households: list, path: Path) -> None:
    registry_truth.write(households, path)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo province, plus a district (Thới Lai) for the brake and a source that fails, in a real Airflow."""
    import random

    from mis import db
    from misgw import demo_data
    from misgw.admin_units import import_admin_units

    root = tmp_path_factory.mktemp("airflow-ui")
    demo_dir = root / "demo"
    demo_data.generate(demo_dir, PRE2025_CSV)
    rng = random.Random(3)
    people = registry_truth._People(rng)
    thoi_lai = [registry_truth._household(people, rng, f"TL{i:03d}", THOI_LAI, 2) for i in range(40)]
    _thoi_lai_roster(thoi_lai, demo_dir / "districts" / "thoi-lai" / "ds.xlsx")
    (demo_dir / "districts" / "broken").mkdir(parents=True)
    (demo_dir / "districts" / "broken" / "ds.xlsx").write_text("<html>not a workbook</html>")
    config = yaml.safe_load((demo_dir / "misgw.yaml").read_text(encoding="utf-8"))
    config["sources"] += [
        {"id": "cantho-thoi-lai", "kind": "spreadsheet", "path": "districts/thoi-lai", "district_code": "927"},
        {"id": "cantho-broken", "kind": "spreadsheet", "path": "districts/broken", "district_code": "924"}]
    with AlertInbox() as inbox:
        config["alerts"] = {"email": ["ops@example.vn"], "webhook": inbox.webhook}
        (demo_dir / "misgw.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        mis = create_database("misgw_demo")
        db.upgrade(db.get_engine(mis))
        import_admin_units(db.get_engine(mis), PRE2025_CSV, CROSSWALK_CSV)
        env = {"MISGW_CONFIG": str(demo_dir / "misgw.yaml"), "MISGW_DATABASE_URL": mis,
               "AIRFLOW_CONN_SMTP_DEFAULT": inbox.smtp_connection()}
        try:
            with Cluster(root, env) as airflow:
                yield {"airflow": airflow, "config": demo_dir / "misgw.yaml", "mis": mis, "inbox": inbox,
                       "thoi_lai": thoi_lai, "root": root, "sources": [s["id"] for s in config["sources"]]}
        finally:
            drop_database(mis)


DEMO_SOURCES = ["cantho-phong-dien", "cantho-co-do", "cantho-ninh-kieu"]


def _dag(source: str) -> str:
    return "misgw_" + source.replace("-", "_")


def test_the_demo_runs_green_in_airflow_with_notes_and_the_province_dag(demo):
    airflow = demo["airflow"]
    dags = [_dag(s) for s in demo["sources"]] + ["misgw_province_92"]
    airflow.wait_for_dags(dags)
    for dag_id in dags:
        airflow.unpause(dag_id)
    # Unpaused, a daily DAG also runs once for its last interval; this run reads everything in any case.
    runs = {s: airflow.trigger(_dag(s), {"full_reload": True}) for s in DEMO_SOURCES}
    for source, run_id in runs.items():
        run = airflow.wait_run(_dag(source), run_id)
        assert run["state"] == "success", airflow.explain(_dag(source), run_id)
        # The run's note: the summary an operator reads without opening a log.
        assert f"**MIS Gateway – `{source}`**" in run["note"] and "**success**" in run["note"]
        assert "people) accepted" in run["note"] and "fix-up workbook" in run["note"]
    # The trigger form's Params are checked: a wrong value is refused before anything runs.
    for bad in ({"dry_run": "perhaps"}, {"files": "ds.xlsx"}, {"full_reload": 3}):
        refused = airflow.api("POST", f"/dags/{_dag('cantho-co-do')}/dagRuns", json={"logical_date": None, "conf": bad})
        assert refused.status_code == 400, (bad, refused.status_code, refused.text[:300])
    # The registry's Asset moved: the province DAG ran on it.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        province = airflow.api("GET", "/dags/misgw_province_92/dagRuns").json()["dag_runs"]
        if province and province[-1]["state"] in ("success", "failed"):
            break
        time.sleep(2)
    assert province and province[-1]["state"] == "success", province
    assert province[-1]["run_type"] == "asset_triggered"
    engine = sa.create_engine(demo["mis"])
    with engine.connect() as conn:
        body = conn.execute(sa.text("SELECT body FROM mis.province_report ORDER BY created_at DESC LIMIT 1")).scalar()
    engine.dispose()
    assert {s["source_id"] for s in body["sources"]} >= set(DEMO_SOURCES)


def test_the_mis_gateway_page_needs_a_signed_in_user_and_shows_the_districts(demo):
    airflow = demo["airflow"]
    if not any(s["last_run"] for s in airflow_overview(airflow)["sources"]):
        pytest.skip("needs the demo runs of the test above")
    # Without a session or a token: refused, the page and its downloads alike.
    for path in ("/misgw/", "/misgw/api/overview", "/misgw/fixup/cantho-co-do/925"):
        response = requests.get(airflow.url + path, timeout=30)
        assert response.status_code in (401, 403), (path, response.status_code)
        bad = requests.get(airflow.url + path, headers={"Authorization": "Bearer not-a-token"}, timeout=30)
        assert bad.status_code in (401, 403), (path, bad.status_code)
    token = airflow.token()
    headers = {"Authorization": f"Bearer {token}"}
    overview = requests.get(airflow.url + "/misgw/api/overview", headers=headers, timeout=30).json()
    by_source = {s["source_id"]: s for s in overview["sources"]}
    for source in DEMO_SOURCES:
        assert by_source[source]["last_run"]["status"] == "success"
        assert sum(by_source[source]["open_rejects"].values()) > 0           # the demo's injected errors
    page = requests.get(airflow.url + "/misgw/", headers=headers, timeout=30)
    assert page.status_code == 200 and "Cổng MIS" in page.text and "cantho-phong-dien" in page.text
    workbook = requests.get(airflow.url + "/misgw/fixup/cantho-co-do/925", cookies={"_token": token}, timeout=60)
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"      # an .xlsx, via the UI's cookie
    from io import BytesIO

    from openpyxl import load_workbook

    assert "Cần sửa" in load_workbook(BytesIO(workbook.content)).sheetnames

    # In a browser, as an operator sees it: signed in, the page in Airflow's navigation.
    shot = screenshot_of_misgw_page(airflow, token, demo["root"])
    assert shot.stat().st_size > 20_000
    print(f"\nscreenshot of the MIS Gateway page in the Airflow UI: {shot}")


def airflow_overview(airflow) -> dict:
    return requests.get(airflow.url + "/misgw/api/overview", headers={"Authorization": f"Bearer {airflow.token()}"},
                        timeout=30).json()


def test_a_failing_source_alerts_by_email_and_webhook(demo):
    airflow, inbox = demo["airflow"], demo["inbox"]
    airflow.wait_for_dags([_dag("cantho-broken")])
    airflow.unpause(_dag("cantho-broken"))
    run_id = airflow.trigger(_dag("cantho-broken"))
    run = airflow.wait_run(_dag("cantho-broken"), run_id)
    assert run["state"] == "failed" and airflow.task_states(_dag("cantho-broken"), run_id)["mark_failed"] == "failed"
    hook, mail = inbox.wait("failed")
    assert hook["source_id"] == "cantho-broken" and "ds.xlsx" in hook["error"] and hook["dag_run_id"] == run_id
    assert mail["to"] == ["ops@example.vn"] and "cantho-broken" in _subject(mail["data"])
    assert "**failed**" in run["note"] and "ds.xlsx" in run["note"]


def _open_entries(url: str, source: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM mis.reject_entry WHERE source_id = :s AND status = 'open'"),
                         {"s": source}).scalar()
    engine.dispose()
    return n


def _province_summary(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        body = conn.execute(sa.text("SELECT body FROM mis.province_report ORDER BY created_at DESC, report_id DESC "
                                    "LIMIT 1")).scalar()
    engine.dispose()
    return {s["source_id"]: s for s in body["sources"]}


def _page_in_chromium(airflow, token: str, root: Path, name: str) -> str:
    """The MIS Gateway page as an operator sees it in Airflow (inside its iframe); a screenshot kept."""
    return misgw_page_in_airflow(airflow, token, root / name, "data-source", SCREENSHOTS / f"{name}.png")


def _row(page: str, source: str) -> str:
    """The page's table row of one source."""
    start = page.index(f"data-source=\"{source}\"") if f"data-source=\"{source}\"" in page \
        else page.index(f"data-source='{source}'")
    return page[page.rindex("<tr", 0, start):page.index("</tr>", start)]


def test_the_page_tells_the_truth_after_a_quiet_night_a_failure_and_a_recovery(demo):
    """A district, then a night with no new file: its open count and its fix-up download are still on the page.
    A source that breaks and is repaired: the province summary follows both, without any load in between."""
    airflow, mis, root = demo["airflow"], demo["mis"], demo["root"]
    source, dag_id = "cantho-co-do", _dag("cantho-co-do")
    airflow.wait_for_dags([dag_id])
    airflow.unpause(dag_id)
    first = airflow.trigger(dag_id, {"full_reload": True})
    assert airflow.wait_run(dag_id, first)["state"] == "success", airflow.explain(dag_id, first)
    opened = _open_entries(mis, source)
    assert opened > 0                                        # the demo's injected errors
    quiet = airflow.trigger(dag_id)                          # the same files: nothing new at the source
    run = airflow.wait_run(dag_id, quiet)
    assert run["state"] == "success" and "no change at source" in run["note"], run["note"]
    assert _open_entries(mis, source) == opened

    token = airflow.token()
    page = _page_in_chromium(airflow, token, root, "misgw-page-after-a-quiet-night")
    row = _row(page, source)
    assert "Huyện Cờ Đỏ" in row                             # the district's Vietnamese name, not only 925
    assert f"data-open=\"{opened}\"" in row or f"data-open='{opened}'" in row, row
    engine = sa.create_engine(mis)
    with engine.connect() as conn:
        shown = conn.execute(sa.text("""SELECT to_char(finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI')
            FROM mis.sync_run WHERE source_id = :s ORDER BY started_at DESC LIMIT 1"""), {"s": source}).scalar()
    engine.dispose()
    assert "thành công" in row and shown in row and "Giờ Việt Nam" in page    # times in Vietnam time
    assert "không có thay đổi ở nguồn" in row and 'href="fixup/cantho-co-do/925"' in row, row
    workbook = requests.get(airflow.url + "/misgw/fixup/cantho-co-do/925", cookies={"_token": token}, timeout=60)
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    from io import BytesIO

    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(workbook.content))["Cần sửa"]
    assert sheet.max_row > 1

    # A source breaks (a damaged file) and is repaired: the summary follows both.
    broken, broken_dag = "cantho-broken", _dag("cantho-broken")
    airflow.wait_for_dags([broken_dag])
    airflow.unpause(broken_dag)
    failed = airflow.trigger(broken_dag)
    assert airflow.wait_run(broken_dag, failed)["state"] == "failed"
    summary = _province_summary(mis)[broken]
    assert summary["last_run"]["status"] == "failed" and "ds.xlsx" in summary["last_run"]["error"]
    page = _page_in_chromium(airflow, token, root, "misgw-page-a-source-failed")
    assert "tệp bị hỏng hoặc không phải bảng tính Excel" in _row(page, broken)

    rng = __import__("random").Random(11)
    people = registry_truth._People(rng)
    repaired = [registry_truth._household(people, rng, f"VT{i:03d}", "31211", 1) for i in range(6)]
    registry_truth.write(repaired, demo["config"].parent / "districts" / "broken" / "ds.xlsx")
    fixed = airflow.trigger(broken_dag)
    assert airflow.wait_run(broken_dag, fixed)["state"] == "success", airflow.explain(broken_dag, fixed)
    deadline = time.monotonic() + 180                       # the province DAG runs on the registry's Asset
    while time.monotonic() < deadline and _province_summary(mis)[broken]["last_run"]["status"] != "success":
        time.sleep(2)
    summary = _province_summary(mis)[broken]
    assert summary["last_run"]["status"] == "success" and summary["last_load"]["households_accepted"] == 6, summary
    page = _page_in_chromium(airflow, token, root, "misgw-page-a-source-repaired")
    assert "thành công" in _row(page, broken) and "tệp bị hỏng" not in _row(page, broken)


def test_a_large_change_waits_for_approval_reject_loads_nothing_approve_loads(demo):
    airflow, inbox = demo["airflow"], demo["inbox"]
    dag_id = _dag("cantho-thoi-lai")
    airflow.wait_for_dags([dag_id])
    airflow.unpause(dag_id)
    first = airflow.trigger(dag_id)
    assert airflow.wait_run(dag_id, first)["state"] == "success"      # a first load never waits: all new

    # The district sends a roster where 25 of its 40 households changed category.
    for h in demo["thoi_lai"][:25]:
        h.category, h.income = ("Hộ cận nghèo", 1_400_000) if h.category == "Hộ nghèo" else ("Hộ nghèo", 1_200_000)
    _thoi_lai_roster(demo["thoi_lai"], demo["config"].parent / "districts" / "thoi-lai" / "ds.xlsx")
    before = _categories(demo["mis"])
    assert len(before) == 40

    run_id = airflow.trigger(dag_id)
    waiting = airflow.wait_task(dag_id, run_id, "approve", ("awaiting_input", "deferred"))
    airflow.wait_parked(dag_id, run_id, "approve")   # a person answers seconds later, never in the same one
    assert waiting["state"] in ("awaiting_input", "deferred")
    hook, mail = inbox.wait("awaiting_approval")
    assert hook["figures"]["affected"] == 25 and hook["figures"]["registry_households"] == 40
    assert "62.5%" in hook["text"] and "phê duyệt" in _subject(mail["data"])
    detail = airflow.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails").json()
    assert "25 / 40" in detail["body"]
    answer = airflow.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails",
                         json={"chosen_options": ["Reject"]})
    assert answer.ok, answer.text
    run = airflow.wait_run(dag_id, run_id)
    states = airflow.task_states(dag_id, run_id)
    assert states["load"] == "skipped" and states["closed"] == "success", airflow.explain(dag_id, run_id)
    assert _categories(demo["mis"]) == before                          # nothing loaded
    status, reason = _sync_status(demo["mis"], run_id)
    assert (status, reason) == ("rejected", "Rejected at approval by admin: nothing loaded.")
    detail = airflow.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails").json()
    assert detail["chosen_options"] == ["Reject"] and detail["responded_by_user"]["name"] == "admin", detail

    run_id = airflow.trigger(dag_id)
    airflow.wait_task(dag_id, run_id, "approve", ("awaiting_input", "deferred"))
    airflow.wait_parked(dag_id, run_id, "approve")
    answer = airflow.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails",
                         json={"chosen_options": ["Approve"]})
    assert answer.ok, answer.text
    run = airflow.wait_run(dag_id, run_id)
    assert run["state"] == "success" and airflow.task_states(dag_id, run_id)["load"] == "success", \
        airflow.explain(dag_id, run_id)
    after = _categories(demo["mis"])
    assert sum(after[k] != before[k] for k in before) == 25
    assert _sync_status(demo["mis"], run_id)[0] == "success"


def _categories(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text(
            "SELECT h.household_code, p.poverty_category FROM mis.household h JOIN mis.poverty_assessment p "
            "USING (household_id) WHERE h.district_code_pre2025 = '927'")).all())
    engine.dispose()
    return rows


def _sync_status(url: str, dag_run_id: str) -> tuple:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, error FROM mis.sync_run WHERE options->'airflow'->>'run_id' = :r"),
                           {"r": dag_run_id}).one()
    engine.dispose()
    return tuple(row)
