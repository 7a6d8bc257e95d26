"""A changed workbook: only its changed households are judged and loaded, and the MIS ends as a full reload's."""
from __future__ import annotations

import json

import sqlalchemy as sa
from rosters import write_config, write_roster
from test_pipeline import mis_db, misgw, natural_state  # noqa: F401  (mis_db is a fixture)
from test_reliability import reference_db  # noqa: F401  (a fixture)

HOUSEHOLDS = 40
SYLLABLES = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Lâm", "Minh", "Nam"]


def _given(n: int) -> str:
    """Household n's own given names: names carry no digits (a rule rejects those)."""
    return f"{SYLLABLES[n // 10 % 10]} {SYLLABLES[n % 10]}"


def household(n: int, birth: str = "12/03/1975") -> list[list]:
    """Household n of Nhơn Ái: head, spouse, child; the code written on the head's row only."""
    code = f"31300-{n:04d}"
    return [
        [code, f"Nguyễn Văn {_given(n)}", "Chủ hộ", "Nam", birth, "Kinh", f"0920{75:02d}{n:06d}", "Ấp Nhơn Lộc",
         "Hộ nghèo", 2025, 1200000],
        [None, f"Trần Thị {_given(n)}", "Vợ", "Nữ", "06/05/1978", "Kinh", f"0921{78:02d}{n:06d}", "Ấp Nhơn Lộc",
         "Hộ nghèo", 2025, 1200000],
        [None, f"Nguyễn Hữu {_given(n)}", "Con", "Nam", "2010", "Kinh", None, "Ấp Nhơn Lộc", "Hộ nghèo", 2025, 1200000],
    ]


def roster(households: dict[int, list[list]]) -> list[list]:
    return [row for n in sorted(households) for row in households[n]]


def sync(cfg, url: str, *args: str) -> dict:
    run = misgw("sync", "--config", str(cfg), "--json", *args, env_url=url)
    [summary] = json.loads(run.stdout)
    assert summary["status"] == "success", (summary, run.stderr)
    return summary


def test_only_changed_households_of_a_workbook_are_judged_and_the_mis_ends_as_a_full_reload(
        tmp_path, mis_db, reference_db):  # noqa: F811
    book = tmp_path / "d" / "x.xlsx"
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    first = {n: household(n) for n in range(1, HOUSEHOLDS + 1)}
    write_roster(book, roster(first))
    runs = {url: [sync(cfg, url)] for url in (mis_db, reference_db)}
    assert runs[mis_db][0]["households_accepted"] == HOUSEHOLDS and not runs[mis_db][0]["partial"]

    # The district edits its workbook: a new household in the middle (every STT after it renumbered),
    # a birth date corrected, a household removed, and a member's sex typed wrong.
    second = dict(first)
    second[5] = household(5, birth="13/03/1975")
    del second[10]
    second[15] = [list(r) for r in household(15)]
    second[15][1][3] = "Không rõ"
    second[20.5] = household(99)
    write_roster(book, roster(second))
    narrowed = sync(cfg, mis_db)
    reloaded = sync(cfg, reference_db, "--full")

    # Only households 5, 15 and 99 were judged (3 rows each); household 10 is gone; the other 37 are unchanged, unjudged.
    assert narrowed["partial"] and narrowed["rows_read"] == 9, narrowed
    assert narrowed["rows_rejected"] == 1 and narrowed["households_rejected"] == 1
    assert narrowed["reconcile"] == {"new": 1, "changed": 1, "unchanged": HOUSEHOLDS - 3, "moved": 0,
                                     "missing": 1, "conflict": 0}, narrowed
    # The same outcome as judging the whole workbook again, and the same MIS, lineage included.
    assert not reloaded["partial"] and reloaded["rows_read"] == 3 * HOUSEHOLDS
    assert reloaded["reconcile"] == narrowed["reconcile"]
    assert natural_state(mis_db, runs[mis_db][0]["run_id"]) == \
        natural_state(reference_db, runs[reference_db][0]["run_id"])
    for url in (mis_db, reference_db):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            entries = conn.execute(sa.text("SELECT household_code, rule, status FROM mis.reject_entry "
                                           "ORDER BY 1, 2")).all()
        engine.dispose()
        assert [tuple(e) for e in entries] == [("31300-0010", "reconcile.missing", "open"),
                                               ("31300-0015", "codelist.sex", "open")], entries

    # The household held back was not loaded, so it is judged again next time; fixed, it loads and
    # its entry resolves, and nothing else is read.
    second[15] = household(15)
    write_roster(book, roster(second))
    fixed = sync(cfg, mis_db)
    assert fixed["partial"] and fixed["rows_read"] == 3 and fixed["households_accepted"] == 1, fixed
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        status = conn.execute(sa.text("SELECT status FROM mis.reject_entry WHERE household_code = '31300-0015'"
                                      )).scalar()
        members = conn.execute(sa.text("SELECT count(*) FROM mis.member m JOIN mis.household h USING "
                                       "(household_id) WHERE h.household_code = '31300-0015'")).scalar()
    engine.dispose()
    assert status == "resolved" and members == 3

    # Moving a column and renumbering STT change no record: nothing is judged again.
    header = ["STT", "Họ và tên", "Mã hộ", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
              "Ấp", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]
    rows = [[r[1], r[0], *r[2:]] for r in roster(second)]
    write_roster(book, rows, header=header)
    same = sync(cfg, mis_db)
    assert same["partial"] and same["rows_read"] == 0, same
    assert same["reconcile"]["unchanged"] == HOUSEHOLDS and same["reconcile"]["missing"] == 0, same


def test_a_record_digest_is_its_content_not_its_place():
    import pandas as pd

    from mappings.roster import household_groups
    from mis.snapshot import record_digests

    frame = pd.DataFrame({"source_file": ["a.xlsx", "a.xlsx"], "source_sheet": ["Xã A", "Xã A"],
                          "source_row": [5, 6], "source_key": [None, None],
                          "household_code": ["H1", None], "full_name": ["Lê An", "Lê Bình"],
                          "id_number": ["92075000001", None]}, dtype=object)
    digests = record_digests(frame, household_groups(frame))
    assert digests.str.fullmatch(r"[0-9a-f]{16}").all() and digests.nunique() == 2

    def digest(**change):
        """The first record's digest with its fields changed."""
        other = frame.copy()
        for column, value in change.items():
            other[column] = [value, frame[column][1]]
        return record_digests(other, household_groups(other))[0]

    # Another file, row, or column order: the same record.
    moved = frame[["full_name", "source_row", "household_code", "source_file", "source_sheet", "id_number",
                   "source_key"]].assign(source_file="b.xlsx", source_row=[9, 10])
    assert record_digests(moved, household_groups(moved)).tolist() == digests.tolist()
    # A field, its type (the ID typed as a number), blank against the text "None", the sheet, the household.
    assert digest(full_name="Lê Ân") != digests[0]
    assert digest(id_number=92075000001) != digests[0]
    assert digest(id_number=None) != digest(id_number="None")
    assert digest(source_sheet="Xã B") != digests[0]
    # A record's digest is its own: the same whatever the other rows of its column hold (here an ID typed
    # as a number beside it makes the column mixed).
    mixed = frame.assign(id_number=["92075000001", 92080000002])
    assert record_digests(mixed, household_groups(mixed))[0] == digests[0]
    # The member row without a code belongs to H1: the head's code changing changes it too.
    assert record_digests(frame.assign(household_code=["H2", None]), household_groups(
        frame.assign(household_code=["H2", None])))[1] != digests[1]


def test_keys_that_are_not_keys_turn_the_comparison_off_and_are_counted(mis_db):  # noqa: F811
    """A database whose record key repeats (two records under one key) is not compared with its snapshot:
    every record goes on and the run says how many keys repeat. The unique index that serves the
    comparison finds them; NULL keys count as equal, as the count of duplicates counts them."""
    from mis import snapshot, staging

    engine = sa.create_engine(mis_db)
    found = {}
    for label, keys in {"keys": ["k1", "k2", "k3"], "repeated": ["k1", "k2", "k2"]}.items():
        run_id = f"run_test_{label}"
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM mis.source_snapshot WHERE source_id = 'db'"))
            conn.execute(sa.text("INSERT INTO mis.source_snapshot (source_id, record_key, household, row_hash) "
                                 "VALUES ('db', 'k1', 'H1', 'a'), ('db', 'k2', 'H2', 'b'), ('db', 'k3', 'H3', 'c')"))
            raw = staging.create_table(conn, run_id, "raw", {"file": "text", "sheet": "text", "row": "integer",
                                                             "key": "text", "household": "text", "hash": "text",
                                                             "cells": "text"})
            staging.copy_rows(conn, raw, ["file", "sheet", "row", "key", "household", "hash", "cells"],
                              [("db", "T", i + 2, k, f"H{i + 1}", "abc"[i] if label == "keys" else "x", "{}")
                               for i, k in enumerate(keys)])
            found[label] = snapshot.narrow(conn, run_id, "db", compare=True)
    engine.dispose()
    # Same keys, hashes and households as the snapshot: nothing changed, every record narrowed away.
    assert found["keys"]["narrowed"] is True and found["keys"]["duplicate_keys"] == 0
    assert found["keys"]["rows_unchanged"] == 3
    assert found["repeated"]["narrowed"] is False and found["repeated"]["duplicate_keys"] == 1


def test_a_dry_run_with_nothing_to_compare_makes_no_digest_and_one_with_a_snapshot_compares(mis_db):  # noqa: F811
    """A dry run stores no snapshot, so without one to compare with the digests would be made for nothing
    (0.1 s of a 10,000-member dry run): every row goes on and no `read` table is written. A real run
    makes them (its load stores them), and a dry run once there is a snapshot compares as a run does."""
    import pandas as pd

    from mappings.roster import household_groups
    from mis import snapshot, staging

    frame = pd.DataFrame({"source_file": ["a.xlsx"] * 3, "source_sheet": ["Xã A"] * 3, "source_row": [5, 6, 7],
                          "source_key": [None] * 3, "household_code": ["H1", None, "H2"],
                          "full_name": ["Lê An", "Lê Bình", "Võ Chi"]}, dtype=object)
    groups = household_groups(frame)
    engine = sa.create_engine(mis_db)

    def narrow(run_id: str, stores: bool):
        with engine.begin() as conn:
            kept, found = snapshot.narrow_frame(conn, run_id, "wb", frame, groups, compare=True, stores=stores)
            read = conn.execute(sa.text("SELECT to_regclass(:t)"),
                                {"t": staging.table_name(run_id, "read").replace('"', '')}).scalar()
            return kept.tolist(), found, read

    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM mis.source_snapshot WHERE source_id = 'wb'"))
    kept, found, read = narrow("run_test_dry", stores=False)
    assert kept == [True] * 3 and found == {"narrowed": False, "rows_read": 3} and read is None
    kept, found, read = narrow("run_test_full", stores=True)
    assert kept == [True] * 3 and not found["narrowed"] and read is not None
    digests = snapshot.record_digests(frame, groups)
    with engine.begin() as conn:   # as the load of the first run would leave it, with H2's record since edited
        conn.execute(sa.text("INSERT INTO mis.source_snapshot (source_id, record_key, household, row_hash) "
                             "VALUES ('wb', :a, :h1, :a), ('wb', :b, :h1, :b), ('wb', 'old', :h2, 'old')"),
                     {"a": digests[0], "b": digests[1], "h1": groups[0], "h2": groups[2]})
    kept, found, read = narrow("run_test_dry_again", stores=False)
    assert found["narrowed"] and read is not None
    assert kept == [False, False, True] and found["households_changed"] == 1
    engine.dispose()


def test_a_record_digest_is_the_same_from_release_to_release():
    """The snapshot holds digests of records loaded months ago: a digest computed another way (a faster
    one, a pandas upgrade) would make every household of a quiet workbook changed at once, and judged and
    counted again. These are the digests the snapshot made of these records (hash_pandas_object of a frame
    of fields, type marks and household) before they were computed a column at a time."""
    import pandas as pd

    from mappings.roster import household_groups
    from mis.snapshot import record_digests

    frame = pd.DataFrame({"source_file": ["a.xlsx"] * 3, "source_sheet": ["Xã A"] * 3,
                          "source_row": [5, 6, 7], "source_key": [None] * 3,
                          "household_code": ["H1", None, "H2"], "full_name": ["Lê An", "Lê Bình", None],
                          "id_number": ["092075000001", None, 92080000002],
                          "income_per_capita": [1500000, 1.5, None]}, dtype=object)
    assert record_digests(frame, household_groups(frame)).tolist() == \
        ["c1149a2af43f4a80", "0dd464718eac4e96", "ca5fcebeabdc6228"]
