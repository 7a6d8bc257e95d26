"""Parses the official GSO administrative-unit tables (pre-2025 communes, 2025 crosswalk) into MIS unit-table frames."""
from __future__ import annotations

import csv
import io
import re
from os import PathLike
from pathlib import Path

import pandas as pd

from common.errors import UserError
from mappings.text import clean_series, fold, fold_series

# How far down the file the header row may sit (title rows, blank lines, logos ...).
HEADER_SCAN_ROWS = 50

# field -> (label for messages, accepted header spellings as fold() keys, required)
PRE2025_HEADER = {
    "province_name": ("Tỉnh Thành Phố", ("tinhthanhpho", "tinhthanh", "tinh", "tentinh", "tentinhthanhpho"), True),
    "province_code": ("Mã TP", ("matp", "matinh", "matinhthanhpho"), True),
    "district_name": ("Quận Huyện", ("quanhuyen", "tenquanhuyen", "huyen", "tenhuyen"), True),
    "district_code": ("Mã QH", ("maqh", "mahuyen", "maquanhuyen"), True),
    "commune_name": ("Phường Xã", ("phuongxa", "xaphuong", "tenxa", "tenphuongxa", "tenxaphuong"), True),
    "commune_code": ("Mã PX", ("mapx", "maxa", "maphuongxa", "maxaphuong"), True),
    "level": ("Cấp", ("cap", "capdonvi"), False),
}

CROSSWALK_HEADER = {
    "province": ("Tỉnh, thành phố", ("tinhthanhpho", "tinhthanh", "tinh", "tinhmoi", "tinhthanhphomoi"), True),
    "province_code": ("Mã tỉnh", ("matinh", "matp", "matinhmoi"), False),
    "commune_name": ("Tên Xã mới", ("tenxamoi", "tenphuongxamoi", "tendonvimoi"), True),
    "commune_code": ("Mã Xã mới", ("maxamoi", "maphuongxamoi", "madonvimoi"), True),
    "old_name": ("Tên Xã cũ", ("tenxacu", "tenphuongxacu", "tendonvicu"), False),
    "old_code": ("Mã Xã cũ", ("maxacu", "maphuongxacu", "madonvicu"), True),
    "note": ("Ghi chú", ("ghichu",), True),
    "old_district": ("Quận/huyện", ("quanhuyen", "quanhuyencu", "huyencu"), False),
    "old_province": ("Tỉnh cũ", ("tinhcu", "tinhthanhphocu"), False),
}

_CODE_IN_PARENS = re.compile(r"\s*\((\d{1,3})\)\s*$")

# Crosswalk notes, compared as fold() keys (so "Nhâp một  phần" reads as "nhapmotphan").
# "Nhập một phần diện tích, toàn bộ dân số": every inhabitant went to this commune -> whole.
_WHOLE_POPULATION = "toanbodanso"
_PART_PREFIXES = ("nhapmotphan", "phanconlai")
_PART_ANYWHERE = "tumotphan"          # "Đổi tên từ một phần Phường 15", "Đổi tên, đổi loại hình từ một phần ..."
_WHOLE_PREFIXES = ("nhaptoanbo", "giunguyen", "doiten", "doiloaihinh", "sapxeptoanbo")


# ---------------------------------------------------------------- public
def read_pre2025(path: str | PathLike) -> dict[str, pd.DataFrame]:
    """The pre-2025 GSO list (province, district, commune on every row) as the three *_pre2025 tables."""
    path = Path(path)
    rows = _read_rows(path)
    frame = _table(path, rows, PRE2025_HEADER)
    frame["province_code"] = _codes(path, frame, "province_code", 2)
    frame["district_code"] = _codes(path, frame, "district_code", 3)
    frame["commune_code"] = _codes(path, frame, "commune_code", 5)
    # Rows without a province or district code are banners, blank lines or totals.
    frame = frame[frame["province_code"].notna() & frame["district_code"].notna()]
    _require(path, frame, ["province_name", "district_name"])

    provinces = (frame.drop_duplicates("province_code")[["province_code", "province_name"]]
                 .rename(columns={"province_name": "name"}))
    districts = (frame.drop_duplicates("district_code")[["district_code", "district_name", "province_code"]]
                 .rename(columns={"district_name": "name"}))
    # Island districts without communes (Bạch Long Vĩ, Cồn Cỏ, ...) are district rows only.
    communes = frame[frame["commune_code"].notna()]
    _require(path, communes, ["commune_name"])
    communes = (communes.drop_duplicates("commune_code")
                [["commune_code", "commune_name", "level", "district_code", "province_code"]]
                .rename(columns={"commune_name": "name"}))
    return {
        "province_pre2025": _finish(provinces),
        "district_pre2025": _finish(districts),
        "commune_pre2025": _finish(communes),
    }


def read_crosswalk(path: str | PathLike) -> dict[str, pd.DataFrame]:
    """The 1 July 2025 crosswalk as the current province and commune tables and the crosswalk table."""
    path = Path(path)
    rows = _read_rows(path)
    frame = _table(path, rows, CROSSWALK_HEADER)
    frame["commune_code"] = _codes(path, frame, "commune_code", 5)
    # Province banners ("THÀNH PHỐ HÀ NỘI") and stray province-only rows carry no new commune code.
    frame = frame[frame["commune_code"].notna()].copy()
    frame["old_code"] = _codes(path, frame, "old_code", 5)

    in_parens = frame["province"].str.extract(_CODE_IN_PARENS, expand=False)
    given = _codes(path, frame, "province_code", 2)
    frame["province_code"] = given.fillna(in_parens.str.zfill(2))
    frame["province_name"] = clean_series(frame["province"].str.replace(_CODE_IN_PARENS, "", regex=True))
    _require(path, frame, ["province_code", "province_name", "commune_name"],
             hint="province code, e.g. 'Thành phố Hà Nội (01)'")

    clash = frame.groupby("commune_code")["province_code"].nunique()
    if (clash > 1).any():
        code = clash[clash > 1].index[0]
        raise UserError(f"{path.name}: new commune {code} is listed under more than one province.")

    provinces = _most_written(frame, "province_code", "province_name").rename(columns={"province_name": "name"})
    communes = (_most_written(frame, "commune_code", "commune_name")
                .merge(frame.drop_duplicates("commune_code")[["commune_code", "province_code"]], on="commune_code")
                .rename(columns={"commune_name": "name"}))
    crosswalk = pd.DataFrame({
        "commune_code": frame["commune_code"],
        "commune_code_pre2025": frame["old_code"],
        "old_name": frame["old_name"],
        "old_district": frame["old_district"],
        "old_province": frame["old_province"],
        "merge_kind": merge_kind(frame["note"]),
        "note": frame["note"],
    })
    return {
        "province": _finish(provinces),
        "commune": _finish(communes),
        "commune_crosswalk": _finish(crosswalk),
    }


def merge_kind(notes: pd.Series) -> pd.Series:
    """'whole', 'part' or 'other' for each crosswalk note, whatever its spelling."""
    key = fold_series(notes).astype("object").fillna("").astype(str)
    whole_population = key.str.contains(_WHOLE_POPULATION, regex=False)
    part = key.str.startswith(_PART_PREFIXES) | key.str.contains(_PART_ANYWHERE, regex=False)
    whole = key.str.startswith(_WHOLE_PREFIXES)
    kind = pd.Series("other", index=notes.index, dtype="object")
    kind[whole] = "whole"
    kind[part] = "part"
    kind[whole_population] = "whole"
    return kind


# ---------------------------------------------------------------- reading
def _read_rows(path: Path) -> list[list[str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"File not found: {path}.") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}).") from None
    for encoding in ("utf-8-sig", "utf-16", "cp1258"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1258 decodes nearly anything
        raise UserError(f"{path.name}: unknown text encoding (expected UTF-8, UTF-16 or Windows-1258).")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UserError(f"{path.name}: not a readable CSV file ({exc}).") from None


def _table(path: Path, rows: list[list[str]], spec: dict) -> pd.DataFrame:
    """Locate the header row by its words and return the body with one cleaned text column per field."""
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found = _match_header(row, spec)
        if all(name in found for name, (_, _, required) in spec.items() if required):
            best = (index, found)
            break
        if best is None or len(found) > len(best[1]):
            best = (index, found) if found else best
    else:
        required = [(name, label) for name, (label, _, needed) in spec.items() if needed]
        wanted = ", ".join(f"'{label}'" for _, label in required)
        partial = ""
        if best:
            lacking = ", ".join(f"'{label}'" for name, label in required if name not in best[1])
            partial = f" (the closest, row {best[0] + 1}, lacks {lacking})"
        raise UserError(f"{path.name}: no header row with the columns {wanted} in its first "
                        f"{HEADER_SCAN_ROWS} rows{partial}; is this the right file?")
    header_index, columns = best
    body = rows[header_index + 1:]
    width = max(columns.values()) + 1
    raw = pd.DataFrame([(r + [""] * width)[:width] for r in body], dtype="object",
                       columns=range(width))
    frame = pd.DataFrame(index=raw.index)
    for name in spec:
        frame[name] = clean_series(raw[columns[name]]) if name in columns else pd.Series(
            pd.NA, index=raw.index, dtype="string")
    # Row numbers as a spreadsheet shows them (CSV records, 1-based; a quoted line break does not count).
    frame.index = pd.RangeIndex(header_index + 2, header_index + 2 + len(frame))
    return frame


def _match_header(row: list[str], spec: dict) -> dict[str, int]:
    found: dict[str, int] = {}
    for col, cell in enumerate(row):
        key = fold(cell)
        if not key:
            continue
        for name, (_, aliases, _) in spec.items():
            if name not in found and key in aliases:
                found[name] = col
                break
    return found


# ---------------------------------------------------------------- values
def _codes(path: Path, frame: pd.DataFrame, column: str, width: int) -> pd.Series:
    """Zero-padded GSO codes ("1" -> "01", "1.0" -> "01"); NA where blank; an error for anything else."""
    values = frame[column].str.replace(r"\.0+$", "", regex=True)
    bad = values.notna() & ~values.str.fullmatch(r"\d+", na=False)
    bad |= (values.str.len() > width).fillna(False).astype(bool)
    if bad.any():
        row = bad[bad].index[0]
        raise UserError(f"{path.name}, row {row}: '{frame.at[row, column]}' is not a {width}-digit code "
                        f"in column '{column}'.")
    return values.str.zfill(width)


def _require(path: Path, frame: pd.DataFrame, columns: list[str], hint: str | None = None) -> None:
    for column in columns:
        blank = frame[column].isna()
        if blank.any():
            row = blank[blank].index[0]
            what = hint or column.replace("_", " ")
            raise UserError(f"{path.name}, row {row}: the {what} is missing.")


def _most_written(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """One value per key: the spelling written most often, ties going to the first one in the file."""
    counts = (frame.assign(_order=range(len(frame)))
              .groupby([key, value], sort=False)
              .agg(n=("_order", "size"), first=("_order", "min"))
              .reset_index()
              .sort_values([key, "n", "first"], ascending=[True, False, True]))
    return counts.drop_duplicates(key)[[key, value]].reset_index(drop=True)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain object columns with None for missing values, in file order, ready for COPY."""
    out = frame.reset_index(drop=True).astype("object")
    return out.where(out.notna(), None)
