"""Data Docs as a person opens them: offline, one page per run, Excel rows, Vietnamese reasons, IDs masked."""
from __future__ import annotations

import json

from browser import chromium
from rosters import write_config, write_roster
from test_fixup_edits import HEADER, ROSTER
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)


def _chromium_offline(root):
    # No network at all: every host name fails to resolve and every request goes to a closed proxy.
    return chromium(root / "chromium", "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                    window="1400,1000")


def test_data_docs_open_offline_one_page_per_run_with_excel_rows_and_masked_ids(tmp_path, mis_db):  # noqa: F811
    rows = [list(r) for r in ROSTER]
    rows[4][6] = 9219000888                                   # a CCCD typed into a number cell: its zero lost
    write_roster(tmp_path / "d" / "giai-xuan.xlsx", rows=rows, sheet="Xã Giai Xuân", header=HEADER)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "gx", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    [first] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    [second] = json.loads(misgw("sync", "--config", str(cfg), "--json", "--full", env_url=mis_db).stdout)
    assert first["data_docs"] != second["data_docs"]           # each run its own page, both kept
    docs = tmp_path / "out" / "data-docs"
    # No full ID anywhere in the Data Docs folder: our pages, GX's site and its stored results.
    for path in docs.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for row in rows:
                assert str(row[6]) not in text, (path, row[6])

    driver = _chromium_offline(tmp_path)
    try:
        driver.get((docs / "index.html").as_uri())
        index = driver.page_source
        assert first["run_id"] in index and second["run_id"] in index
        driver.get(f"file://{first['data_docs']}")
        page = driver.page_source
        external = driver.execute_script(
            "return [...document.querySelectorAll('link[href],script[src],img[src]')]"
            ".map(e => e.href || e.src).filter(u => !u.startsWith('file:'))")
        styled = driver.execute_script(
            "return getComputedStyle(document.querySelector('th')).backgroundColor")
        driver.save_screenshot(str(tmp_path / "data-docs.png"))
        # GX's own pages open offline too: no asset from a CDN, GX's stylesheet from beside them.
        gx_pages = [p for p in (docs / "gx").rglob("*.html")]
        gx_external = {}
        for gx_page in gx_pages:
            driver.get(gx_page.as_uri())
            gx_external[gx_page.name] = driver.execute_script(
                "return [...document.querySelectorAll('link[href],script[src],img[src]')]"
                ".map(e => e.href || e.src).filter(u => !u.startsWith('file:'))")
    finally:
        driver.quit()
    assert external == [] and styled == "rgb(232, 238, 247)", (external, styled)
    # The reasons in Vietnamese, by Excel row, the ID masked; the GX suite beside the domain rules.
    assert "Ngày sinh «30/02/1972» không phải là ngày có thật" in page
    assert "<td>giai-xuan.xlsx</td><td>Xã Giai Xuân</td><td class=\"n\">6</td>" in page, page[:3000]
    assert "009******888" in page and "Great Expectations: expect_column_values_to_match_regex" in page
    assert "quy tắc nghiệp vụ" in page and "giờ Việt Nam" in page
    assert len(gx_pages) >= 3 and not any(gx_external.values()), gx_external
