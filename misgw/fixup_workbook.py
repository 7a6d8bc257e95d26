"""The district's fix-up workbook, in Vietnamese: the held-back rows with the cells to fix, the missing
households and the warnings, as the ledger holds them open."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from mappings.vocabulary import vocabulary
from mis import fixups, runs
from misgw.fixup_format import (
    FIX_SHEET,
    FORMAT,
    HELP_SHEET,
    HIDDEN_SHEET,
    KEY_HEADER,
    MISSING_SHEET,
    REASON_HEADER,
    WARNING_SHEET,
)
from misgw.xlsx_write import Cell, Sheet, Style, write_workbook

LEAD_FIELDS = ["household_code", "full_name"]
# How workbooks are made, in their digest: a new release that writes them differently writes them again.
_MAKER = hashlib.sha256(b"".join((Path(__file__).parent / name).read_bytes()
                                 for name in ("fixup_workbook.py", "fixup_format.py", "xlsx_write.py"))).hexdigest()
REASON_WIDTH = 60
_HIGHLIGHT = "FFF2A8"
_HEADER = Style(bold=True, fill="D9E1F2", wrap=True)
_WRAPPED = Style(wrap=True)

INSTRUCTIONS = [
    "HƯỚNG DẪN SỬA HỒ SƠ",
    "",
    "1. Trang «Cần sửa» liệt kê các hộ chưa được nhận vào cơ sở dữ liệu. Mỗi hộ có ít nhất một ô sai.",
    "2. Ô tô màu vàng là ô cần sửa. Di chuột vào ô để xem lý do; cột «Lý do cần sửa» ghi lại lý do của từng dòng.",
    "3. Sửa trực tiếp trong các ô. Có thể sắp xếp, lọc, thêm cột ghi chú. Không xóa dòng, không đổi tên cột.",
    "   Dòng bị xóa hay cột bị xóa không làm thay đổi dữ liệu đã có: hệ thống giữ nguyên giá trị đã gửi.",
    "   Cột ẩn «Mã dòng» gắn mỗi dòng với hồ sơ của nó: không sửa, không chép đè lên cột này.",
    "   Ô để trống giữ nguyên giá trị đã có. Muốn xóa hẳn một giá trị đã lưu (dân tộc, số CCCD, địa chỉ, thôn/ấp,",
    "   khu vực, thu nhập, số/ngày quyết định, số chỉ số thiếu hụt), ghi «xóa» vào ô đó; việc xóa được ghi vào lịch sử.",
    "4. Những dòng không tô vàng là thành viên khác của hộ: giữ nguyên để cả hộ được nhận cùng lúc.",
    "5. Lưu tệp (định dạng .xlsx) và gửi lại cho cán bộ tỉnh, hoặc chép vào thư mục nguồn của huyện.",
    "6. Không xóa trang ẩn «_misgw»: hệ thống dùng trang này để nhận ra tệp đã sửa. Tệp sửa lần sau thay cho "
    "tệp sửa lần trước; có thể để cả hai tệp trong thư mục.",
    f"7. Trang «{MISSING_SHEET}» (nếu có) liệt kê các hộ có trong cơ sở dữ liệu nhưng không có trong danh sách "
    "gửi lên. Hộ không bị xóa. Nếu hộ vẫn thuộc diện, bổ sung hộ vào danh sách của huyện; nếu hộ đã chuyển đi "
    "hoặc không còn thuộc diện, báo lý do cho cán bộ tỉnh. Trang này không được đọc lại khi gửi tệp.",
    "",
    f"8. Trang «{WARNING_SHEET}» (nếu có) liệt kê những điểm nên kiểm tra ở các hộ đã được nhận. Các hộ này "
    "không bị giữ lại; sửa trong danh sách của huyện ở lần gửi sau. Trang này không được đọc lại khi gửi tệp.",
    "",
    "Số CCCD có 12 chữ số; hãy định dạng ô là Văn bản (Text) để Excel không làm mất số 0 ở đầu.",
]
WARNING_HEADERS = ["Mã hộ", "Chủ hộ", "Tệp / trang / dòng", "Cảnh báo (hồ sơ đã được nhận; nên kiểm tra lại)"]
MISSING_HEADERS = ["Mã hộ", "Chủ hộ", "Xã/phường", "Số thành viên", "Lần cuối có trong tệp", "Việc cần làm"]


def field_label(name: str) -> str:
    return vocabulary()[name]["aliases"][0]


def write_fixup_workbooks(engine, run_id: str, out_dir: Path, by: str = "district") -> tuple[dict[str, Path], dict]:
    """One fix-up workbook per addressee of what is open for the run's source: (addressee -> path,
    addressee -> its stamp, which the run keeps). A dry run writes its own held-back and missing households
    only (its ledger entries are not kept).

    A workbook that would hold exactly what the last one written for its addressee holds, which is still
    as it was written, is not written again: the run names that one (a night with nothing new rewrote
    33,000 held rows of one district, docs/benchmarks.md).

    by: "district" (a roster in the pre-2025 units) or "commune" (a roster made after the reform, when the
    district is gone and the commune fixes its own records). A workbook never holds another addressee's
    records; records whose addressee is unknown go in one workbook of their own ("-").
    """
    with engine.connect() as conn:
        run = runs.get_run(conn, run_id)
    source_id = run["source_id"]
    of_run = run_id if run["dry_run"] else None
    with engine.connect() as conn:
        addressees = fixups.addressees(conn, source_id, by, of_run)
        earlier = {} if of_run else fixups.last_workbooks(conn, source_id)
    out, stamps = {}, {}
    for addressee in addressees:
        name = f"sua-loi_{source_id}_{run_id}.xlsx" if len(addressees) == 1 and by == "district" else \
            f"sua-loi_{source_id}_{addressee}_{run_id}.xlsx"
        path, stamp = _write(engine, source_id, addressee, Path(out_dir) / name, by, of_run, earlier.get(addressee))
        if path:
            out[addressee], stamps[addressee] = path, stamp
    return out, stamps






def write_fixup_workbook(engine, source_id: str, district: str, path: Path, by: str | None = None,
                         run_id: str | None = None) -> Path | None:
    """The workbook of one district's (by="commune": one commune's) records to fix, at path, or None when
    there are none (_write says how)."""
    return _write(engine, source_id, district, path, by, run_id, None)[0]


def _write(engine, source_id: str, district: str, path: Path, by: str | None, run_id: str | None,
           earlier: dict | None) -> tuple[Path | None, dict | None]:
    """The workbook of one district's (by="commune": one commune's) records to fix, or None when there
    are none: the held-back households, the missing ones and the warnings open in the ledger (run_id: of
    that run only). by: None reads how the source's last run addressed its records.

    Each row carries its key in a hidden column (the record's place in the district's own roster, the same
    in every round), and the hidden sheet keeps what was sent: a returned workbook is matched row by row
    by key, however its rows were sorted, filtered or deleted (misgw.stages.fixup_return).
    """
    with engine.connect() as conn:
        run = runs.fixup_basis(conn, source_id, run_id)
    if run is None:
        return None
    by = by or (run["options"] or {}).get("addressed_by") or "district"
    with engine.connect() as conn:
        records, count = fixups.records_digest(conn, source_id, district, by, run_id)
        if not count:
            return None, None
        digest = _content_digest(run, district, by, records)
        if earlier and earlier.get("digest") == digest and _as_written(earlier):
            return Path(earlier["path"]), earlier
        held, rejects, missing, found = fixups.records_to_fix(conn, source_id, district, by, run_id)
    # The person a warning is about, for the full ID its message quotes masked (_unmasked).
    warnings = [(code, head, place, _unmasked(message, {"id_number": id_number}))
                for code, head, place, message, id_number in found]
    path.parent.mkdir(parents=True, exist_ok=True)

    present = set()
    for h in held:
        present.update(_cells(h).keys())
    # The district's own header wording; code, name and the reason first (frozen), then the roster's order.
    own = _district_headers(run["mapping_report"])
    fields = sorted((f for f in vocabulary() if f in present),
                    key=lambda f: (f not in LEAD_FIELDS, LEAD_FIELDS.index(f) if f in LEAD_FIELDS else 0,
                                   own[f][0] if f in own else 10_000, list(vocabulary()).index(f)))
    lead = sum(1 for f in fields if f in LEAD_FIELDS)
    labels = [own[f][1] if f in own else field_label(f) for f in fields]
    keyed = any(h["record_key"] for h in held)
    origin = ["Nguồn", "Bảng", "Khóa bản ghi"] if keyed else ["Tệp gốc", "Trang tính", "Dòng gốc"]
    headers = labels[:lead] + [REASON_HEADER] + labels[lead:] + origin + [KEY_HEADER]
    reason_at = lead
    bad: dict[tuple, dict[str, list[str]]] = {}
    for r in rejects:
        bad.setdefault((r["run_id"], r["file"], r["sheet"], r["row"]), {}).setdefault(r["field"] or "", []) \
            .append(r["message_vi"])
    fix_round = 1 + max((h["fixup_round"] or 0 for h in held), default=0)

    table = []
    for h in held:
        values = _cells(h)
        sent = [values.get(f) for f in fields]
        reason = _unmasked(h["reason_vi"] or "Hộ có thành viên khác bị lỗi; giữ nguyên dòng này.", values)
        place = [h["origin_file"], h["origin_sheet"], h["record_key"] if keyed else h["origin_row"]]
        key = row_key(run["source_id"], h["origin_file"], h["origin_sheet"], h["origin_row"])
        table.append((h, key, sent, reason, place))

    # Rows stream to the file as they are made (misgw.xlsx_write), so a district with thousands of held-back
    # households costs neither the memory nor the time of a workbook held whole.
    # Widths from the values (a header wraps over up to three lines); the reason wraps in a wide column.
    widths = [max(len(w) for w in str(t).split()) if t else 0 for t in headers]
    widths = [max(w, (len(str(t)) + 2) // 3) for w, t in zip(widths, headers)]
    for _, _, sent, reason, place in table:
        for i, v in enumerate(sent[:lead] + [reason] + sent[lead:] + place):
            shown = v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else v
            widths[i] = max(widths[i], len(str(shown)) if v is not None else 0)
    widths = [min(max(w + 2, 8), REASON_WIDTH if i == reason_at else 40) for i, w in enumerate(widths)]

    def fix_rows():
        yield [Cell(t, _HEADER) for t in headers], 45
        for h, key, sent, reason, place in table:
            cells = [_typed(f, v) for f, v in zip(fields, sent)]
            for f, messages in bad.get((h["run_id"], h["file"], h["sheet"], h["row"]), {}).items():
                if f in fields:
                    at = fields.index(f)
                    cell = cells[at] if isinstance(cells[at], Cell) else Cell(cells[at])
                    cell.style = replace(cell.style or Style(), fill=_HIGHLIGHT)
                    cell.comment = _unmasked("\n".join(messages), _cells(h))
                    cell.comment_size = (320, max(90, 18 * (len(cell.comment) // 45 + 2)))
                    cells[at] = cell
            why = Cell(reason, _WRAPPED)
            # Rows written ahead of time keep no automatic height: as many lines as the reason wraps to.
            height = 15 * max(1, -(-len(reason) // int(REASON_WIDTH * 1.1)))
            yield cells[:lead] + [why] + cells[lead:] + place + [key], height

    # The run a round is ranked by: the latest that judged the workbook's records.
    latest_run = max((h["run_id"] for h in held), default=run["run_id"])

    def hidden_rows():
        yield ["source_id", run["source_id"], "run_id", latest_run, "district_code", district,
               "round", fix_round, "format", FORMAT,
               "code_header", labels[fields.index("household_code")] if "household_code" in fields else None], None
        yield ["key", "origin_file", "origin_sheet", "origin_row", "origin_digest", "household_code",
               "fixup_row"] + labels, None
        for n, (h, key, sent, _, _) in enumerate(table, start=2):
            yield [key, h["origin_file"], h["origin_sheet"], h["origin_row"], h["origin_digest"],
                   h["household_code"], n] + sent, None

    sheets = [_instructions(),
              Sheet(FIX_SHEET, fix_rows(), widths=widths, hidden_columns=frozenset({len(headers) - 1}),
                    freeze=(reason_at + 1, 1), autofilter=True,
                    print_titles="1:1", page={"orientation": "landscape", "paperSize": 9, "fitToWidth": 1,
                                              "fitToHeight": 0}),
              Sheet(HIDDEN_SHEET, hidden_rows(), hidden=True)]
    if missing:
        sheets.append(Sheet(MISSING_SHEET, _listed(MISSING_HEADERS, missing), widths=[16, 26, 22, 8, 40, 90],
                            page={"orientation": "landscape"}))
    if warnings:
        sheets.append(Sheet(WARNING_SHEET, _listed(WARNING_HEADERS, warnings), widths=[16, 26, 34, 100],
                            page={"orientation": "landscape"}))
    write_workbook(path, sheets, active=1)
    written = path.stat()
    return path, {"path": str(path), "digest": digest, "size": written.st_size, "mtime_ns": written.st_mtime_ns}


def _content_digest(run: dict, district: str, by: str, records: str) -> str:
    """What a workbook is made from (the records' digest from mis.fixups.records_digest, the district's
    headers) and how (this module and the format), as one digest: equal digests make the same workbook."""
    content = json.dumps([FORMAT, _MAKER, run["source_id"], run["mapping_report"], district, by, records],
                         ensure_ascii=False, default=str, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()


def _as_written(stamp: dict) -> bool:
    """The workbook a stamp names is still there, as written (a person may have opened and saved it)."""
    try:
        now = Path(stamp["path"]).stat()
    except (OSError, KeyError, TypeError):
        return False
    return now.st_size == stamp.get("size") and now.st_mtime_ns == stamp.get("mtime_ns")


def _unmasked(text: str, values: dict) -> str:
    """The district's own workbook shows its people's full ID where a message quotes it masked: the
    digits a message talks about are the ones to check. Every other output keeps IDs masked."""
    from expectations.validate import mask_id

    for value in values.values():     # the ID column, or an ID written in another cell (the name)
        full = str(value).strip() if value is not None else ""
        if full.isdigit() and len(full) in (9, 11, 12):
            text = text.replace(mask_id(full), full)
    return text


def row_key(source_id: str, file: str, sheet: str, row) -> str:
    """A record's key in every round's workbook: its place in the district's own roster, hashed short."""
    return "K" + hashlib.sha1(f"{source_id}\x1f{file}\x1f{sheet}\x1f{int(row)}".encode()).hexdigest()[:11].upper()


def _instructions() -> Sheet:
    lines = [([Cell(INSTRUCTIONS[0], Style(bold=True, size=14))], None)]
    lines += [([Cell(line, _WRAPPED)], None) for line in INSTRUCTIONS[1:]]
    return Sheet(HELP_SHEET, lines, widths=[110],
                 page={"orientation": "portrait", "paperSize": 9, "fitToWidth": 1, "fitToHeight": 1})


def _listed(headers: list[str], rows: list) -> Iterator[tuple[list, None]]:
    """A sheet's rows: its headers, then the values as they may go into cells."""
    yield [Cell(t, _HEADER) for t in headers], None
    for values in rows:
        yield list(values), None


_DATE_FIELDS = {"birth_date", "approval_date"}
_NUMBER_FIELDS = {"income_per_capita", "assessment_year", "member_count", "deprivation_count"}
_DATE, _AMOUNT, _NUMBER, _TEXT = (Style(number_format=f) for f in ("DD/MM/YYYY", "#,##0", "0", "@"))


def _typed(field: str, value):
    """A value as Excel should hold it: a real date shown dd/mm/yyyy, a number as a number, an ID as text.
    A value that is no date or number (what the person must fix) stays as written."""
    if isinstance(value, str) and field in _DATE_FIELDS:
        try:
            day = dt.datetime.strptime(value.strip(), "%d/%m/%Y")
        except ValueError:
            return value
        return Cell(day, _DATE)
    if isinstance(value, str) and field in _NUMBER_FIELDS and re.fullmatch(r"\d{1,12}", value.strip()):
        return Cell(int(value.strip()), _AMOUNT if field == "income_per_capita" else _NUMBER)
    if field == "id_number" and value is not None:
        return Cell(str(value), _TEXT)
    return value


def _district_headers(report) -> dict[str, tuple[int, str]]:
    """field -> (column position, header as the district wrote it), from the run's mapping report."""
    out: dict[str, tuple[int, str]] = {}
    for sheet in report or []:
        for c in sheet.get("columns", []):
            position = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(c["column"])))
            if c["field"] not in out and c["field"] != "row_number":
                out[c["field"]] = (position, c["header"])
    return out


def _cells(h) -> dict:
    cells = h["cells"]
    return json.loads(cells) if isinstance(cells, str) else dict(cells)
