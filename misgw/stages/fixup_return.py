"""Returned fix-up workbooks, before mapping: each row matched to its record by its hidden key, what the
person deleted put back as it was sent, and, across rounds, which file's version of a household wins."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pandas as pd

from misgw.fixup_format import FORMAT, HIDDEN_SHEET, KEY_HEADER

ROW_INFO = ["origin_file", "origin_sheet", "origin_row", "origin_digest", "origin_household", "fixup_round",
            "fixup_run", "fixup_problem"]


@dataclass
class Return:
    """One returned workbook, as its hidden sheet describes what was sent."""
    file: str
    run_id: str
    round: int
    keyed: bool                                   # format 2: rows carry their key; older: by position
    table: pd.DataFrame                           # key, origin_*, household_code, fixup_row
    sent_headers: list[str] = field(default_factory=list)
    sent: dict[str, list] = field(default_factory=dict)       # key -> values under sent_headers
    code_header: str | None = None                # the header of the household code column, as sent


@dataclass
class Repaired:
    rows: list[list]                              # the fix sheet as it is mapped (header first)
    info: pd.DataFrame                            # per row number: ROW_INFO
    notes: list[str]
    restored_rows: int = 0
    stop: str | None = None


def read_returns(raw: pd.DataFrame, source_id: str) -> dict[str, Return]:
    """Fix-up workbooks of this source among the raw rows, recognised by their hidden sheet. A workbook
    whose hidden sheet was removed, or that belongs to another source, is an ordinary roster."""
    out = {}
    for file, part in raw[raw["sheet"] == HIDDEN_SHEET].groupby("file"):
        rows = {int(r): json.loads(c) for r, c in zip(part["row"], part["cells"])}
        head = rows.get(1) or []
        if len(head) < 2 or head[0] != "source_id" or head[1] != source_id:
            continue
        meta = dict(zip(head[0::2], head[1::2]))
        body = [rows[r] for r in sorted(rows) if r > 2 and rows[r] and rows[r][0] is not None]
        if meta.get("format") == FORMAT:
            columns = rows.get(2) or []
            labels = [str(c) for c in columns[7:]]
            table = pd.DataFrame([b[:7] + [None] * (7 - len(b[:7])) for b in body],
                                 columns=["key", "origin_file", "origin_sheet", "origin_row", "origin_digest",
                                          "household_code", "fixup_row"])
            sent = {str(b[0]): (list(b[7:]) + [None] * len(labels))[:len(labels)] for b in body}
            out[file] = Return(file, str(meta.get("run_id") or ""), int(meta.get("round") or 1), True, table,
                               labels, sent, meta.get("code_header"))
        else:
            # A workbook written before rows carried keys: its rows are matched by position.
            table = pd.DataFrame([b[:5] for b in body if len(b) >= 4],
                                 columns=["fixup_row", "origin_file", "origin_sheet", "origin_row",
                                          "household_code"][:5])
            table["key"], table["origin_digest"] = None, None
            out[file] = Return(file, str(meta.get("run_id") or ""), 1, False, table)
    return out


def repair(ret: Return, rows: list[list]) -> Repaired:
    """The fix sheet's rows matched to their records by key: a missing column or a deleted row is put back
    as it was sent (never a blank over a stored value); a row whose key was overwritten, copied or
    emptied gets a problem for the rules to name."""
    if not ret.keyed:
        return _by_position(ret, rows)
    header_at = next((i for i, r in enumerate(rows) if r and KEY_HEADER in r), None)
    if header_at is None:
        return Repaired([], pd.DataFrame(columns=ROW_INFO), [], stop=(
            f"Tệp «{ret.file}»: cột ẩn «{KEY_HEADER}» đã bị xóa nên không biết dòng nào là hồ sơ nào; tệp không "
            f"được đọc. Xuất lại tệp sửa lỗi và sửa trên tệp mới. / {ret.file}: the hidden key column was "
            "deleted, so its rows cannot be matched to their records; the file is not read."))
    header = list(rows[header_at])
    key_col = header.index(KEY_HEADER)
    notes = []
    present = {str(h).strip() for h in header if h is not None}
    gone = [h for h in ret.sent_headers if h not in present]
    added = [str(h) for h in header if h is not None and h != KEY_HEADER and str(h).strip() not in ret.sent_headers
             and str(h).strip() not in _WRITTEN_HEADERS]
    if gone:
        notes.append(f"{ret.file}: cột {', '.join('«' + h + '»' for h in gone)} đã bị xóa khỏi tệp sửa; giá trị "
                     "đã gửi được giữ nguyên, không ghi ô trống vào cơ sở dữ liệu. / column(s) deleted from the "
                     "returned workbook: the values sent are kept.")
    if added:
        notes.append(f"{ret.file}: cột mới {', '.join('«' + h + '»' for h in added)} trong tệp sửa. / column(s) "
                     "added to the returned workbook.")
    width = len(header) + len(gone)
    sent_at = {h: ret.sent_headers.index(h) for h in gone}
    table = ret.table.set_index(ret.table["key"].astype(str))
    data = [(n, list(r) + [None] * (width - len(r))) for n, r in enumerate(rows[header_at + 1:], start=header_at + 2)
            if r and any(v is not None and str(v).strip() for i, v in enumerate(r) if i != key_col)]
    keys = pd.Series([None if r[key_col] is None else str(r[key_col]).strip() for _, r in data],
                     index=[n for n, _ in data], dtype="object")
    counts = keys.value_counts()
    problem = pd.Series(None, index=keys.index, dtype="object")
    problem[keys.isna()] = "key_blank"
    problem[keys.notna() & ~keys.isin(table.index)] = "key_unknown"
    problem[keys.notna() & keys.map(counts).gt(1)] = "key_copied"
    # A row must still be its household's: another household's code of this workbook written over a row's
    # own is a row pasted onto another. A code corrected to one the workbook does not hold is a fix.
    code_label = ret.code_header
    if code_label in present and code_label in ret.sent_headers:
        at, sent_at_code = header.index(code_label), ret.sent_headers.index(code_label)
        sent_codes = {str(v[sent_at_code]).strip() for v in ret.sent.values() if v[sent_at_code] is not None}
        for (n, r), key in zip(data, keys):
            if pd.isna(problem[n]) and key in ret.sent:
                was, now = ret.sent[key][sent_at_code], r[at]
                if was is not None and now is not None and str(was).strip() != str(now).strip() \
                        and str(now).strip() in sent_codes:
                    problem[n] = "key_moved"
    out = [header + gone]
    info = []
    for n, r in data:
        key = keys[n]
        r = r[:len(header)] + [ret.sent[key][sent_at[h]] if key in ret.sent and pd.isna(problem[n]) else None
                               for h in gone]
        out.append(r)
        info.append((n, key, None if pd.isna(problem[n]) else problem[n]))
    # A row deleted from a household still in the file: back as it was sent, so nothing changes.
    returned = table.loc[[k for k in keys[problem.isna()]]]
    households = set(returned["household_code"].dropna())
    deleted = table[~table.index.isin(keys.dropna()) & table["household_code"].isin(households)]
    last = data[-1][0] if data else header_at + 1
    for i, key in enumerate(deleted.index, start=1):
        values = dict(zip(ret.sent_headers, ret.sent[key]))
        r = [values.get(str(h).strip()) if h != KEY_HEADER else key for h in header] + [values.get(h) for h in gone]
        out.append(r)
        info.append((last + i, key, None))
    if len(deleted):
        notes.append(f"{ret.file}: {len(deleted)} dòng đã bị xóa khỏi tệp sửa; các dòng này được giữ như đã gửi. "
                     f"/ {len(deleted)} row(s) deleted from the returned workbook are kept as they were sent.")
    # The rows as mapped: numbered as in the file (a put-back row after the last).
    numbered: list[list] = [[] for _ in range(max((n for n, _, _ in info), default=header_at + 1))]
    numbered[header_at] = [h if h != KEY_HEADER else None for h in out[0]]
    for (n, _, _), r in zip(info, out[1:]):
        numbered[n - 1] = [v if i != key_col else None for i, v in enumerate(r)]
    frame = pd.DataFrame(info, columns=["row", "key", "fixup_problem"]).set_index("row")
    origin = table.reindex(frame["key"].where(frame["fixup_problem"].isna()).astype(str))
    frame["origin_file"] = origin["origin_file"].to_numpy()
    frame["origin_sheet"] = origin["origin_sheet"].to_numpy()
    frame["origin_row"] = pd.to_numeric(origin["origin_row"], errors="coerce").to_numpy()
    frame["origin_digest"] = origin["origin_digest"].to_numpy()
    frame["origin_household"] = origin["household_code"].to_numpy()
    frame["fixup_round"], frame["fixup_run"] = ret.round, ret.run_id
    return Repaired(numbered, frame[ROW_INFO], notes, restored_rows=len(deleted))


_WRITTEN_HEADERS = {"Lý do cần sửa", "Tệp gốc", "Trang tính", "Dòng gốc", "Nguồn", "Bảng", "Khóa bản ghi"}


def _by_position(ret: Return, rows: list[list]) -> Repaired:
    t = ret.table
    frame = pd.DataFrame({"origin_file": t["origin_file"].to_numpy(), "origin_sheet": t["origin_sheet"].to_numpy(),
                          "origin_row": pd.to_numeric(t["origin_row"], errors="coerce").to_numpy(),
                          "origin_digest": None, "origin_household": t["household_code"].to_numpy(),
                          "fixup_round": ret.round, "fixup_run": ret.run_id, "fixup_problem": None},
                         index=pd.Index(pd.to_numeric(t["fixup_row"]).astype(int), name="row"))
    return Repaired(rows, frame[ROW_INFO], [])


def digests(part: pd.DataFrame) -> dict[int, str]:
    """Row number -> the digest of the row's cells as read: a roster row is known again while unchanged.
    A workbook's row has it from the read already (misgw.stages.extract: the MD5 of its cells)."""
    made = part["hash"].where(part["key"].isna())     # a keyed record's hash is another digest (SHA-1)
    return {int(r): h if isinstance(h, str) else hashlib.md5(c.encode()).hexdigest()
            for r, c, h in zip(part["row"], part["cells"], made)}


def supersede(frame: pd.DataFrame, groups: pd.Series, fixed: pd.DataFrame | None) -> tuple[pd.Series, set[str]]:
    """Which rows give way (a mask), and the MIS households that rows given way to an earlier fix stand
    for (present on the roster, so not missing): a household's latest version wins, whichever file.

    A returned workbook's household replaces its rows in the district's roster and in earlier rounds
    (by round, then by the run that wrote the workbook). A household once fixed by a returned workbook
    that loaded (fixed: mis.fixups.fixed_origins) is not judged again from an older version still in
    the folder while that version is as it was when the fix was asked for.
    groups: each row's household in its own file (mappings.roster.household_groups).
    """
    is_fix = frame["fixup_round"].fillna(0).astype(int) > 0
    # A household in one file: the same household in another file (an earlier round) is another group.
    groups = frame["source_file"].astype("string") + "\x1f" + groups.astype("string")
    valid = is_fix & frame["fixup_problem"].isna() & frame["origin_household"].notna()
    rank = frame["fixup_round"].fillna(0).astype(int).astype(str).str.zfill(4) + "|" + \
        frame["fixup_run"].fillna("").astype(str) + "|" + frame["source_file"].astype(str)
    out = pd.Series(False, index=frame.index)
    if valid.any():
        best = rank[valid].groupby(frame.loc[valid, "origin_household"]).max()
        loser = valid & (rank != frame["origin_household"].map(best))
        out |= groups.isin(set(groups[loser].dropna())).fillna(False) & is_fix
        # The district's own rows (round 0) of a household a returned workbook carries.
        origins = set(zip(frame.loc[valid, "origin_file"], frame.loc[valid, "origin_sheet"],
                          frame.loc[valid, "origin_row"].astype(int)))
        place = pd.Series(list(zip(frame["origin_file"], frame["origin_sheet"],
                                   frame["origin_row"].fillna(-1).astype(int))), index=frame.index)
        named = ~is_fix & place.isin(origins)
        out |= ~is_fix & groups.isin(set(groups[named].dropna())).fillna(False)
    if fixed is not None and len(fixed):
        done = fixed.set_index(["origin_file", "origin_sheet", "origin_row"])
        at = pd.MultiIndex.from_arrays([frame["origin_file"], frame["origin_sheet"],
                                        frame["origin_row"].fillna(-1).astype(int)])
        hit = pd.Series(at.isin(done.index), index=frame.index)
        found = done.reindex(at)
        same = hit & (found["origin_digest"].to_numpy() == frame["origin_digest"].to_numpy())
        older = hit & (frame["fixup_round"].fillna(0).astype(int).to_numpy() < found["fixup_round"].to_numpy())
        # Round 0: the roster row as it was when the fix was asked for; a roster row the district changed
        # since is new information, judged again. A return of an earlier round than the fix: given way.
        stale = (~is_fix & same & older) | (is_fix & older)
        whole = stale.groupby(groups).transform("all")
        given_way = stale & whole.reindex(stale.index).fillna(False)
        out |= given_way
        present = set(found.loc[given_way.to_numpy(), "household_code"].dropna())
        return out, present
    return out, set()
