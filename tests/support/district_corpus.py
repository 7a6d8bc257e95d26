"""A corpus of district household rosters laid out the way real communes and legacy exports lay them out.

Nothing here comes from the gateway or its demo generator: the people, household codes, communes and
layouts are this module's own, and the truth it returns is what must reach the MIS (not what the
gateway does today). Deterministic: every layout draws from its own seeded ``random.Random``.

Public API
----------
``build(base, names=None) -> list[Layout]``
    writes every layout (or the ones named) under ``base/<layout name>/`` with the mapping YAMLs some
    layouts need, and returns their truth.
``write_config(base, layouts) -> Path``
    one ``misgw.yaml`` (province 92, today's Cần Thơ) with one source per layout.
``year_conflict_source(base, layout) -> tuple[Path, str, str]``
    the negative case: a copy of the year-in-title layout whose first file is renamed with "2024" in
    its name while its title says 2025; returns (folder, the renamed file, the untouched file).
``LAYOUT_NAMES``, ``COMMUNES`` (the units used, as the reference tables give them), ``INDICATORS``,
``INDICATOR_HEADERS``, ``POVERTY_LINE``, ``poverty_line(area, year)``, ``RULES_HOUSEHOLD_SCOPE``.

The data classes ``Member``, ``Household``, ``SheetTruth``, ``Layout`` hold the truth.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

SEED = "district-corpus-2025-12"
PROVINCE_CODE = "92"     # today's Cần Thơ: old Cần Thơ (92), Hậu Giang (93) and Sóc Trăng (94)

# ---------------------------------------------------------------- the truth
RELATION_CODES = {"01": "head", "02": "spouse", "03": "child", "04": "parent", "05": "grandparent",
                  "06": "grandchild", "07": "sibling", "08": "child-in-law", "09": "other"}


@dataclass
class Member:
    full_name: str
    relation_code: str   # "01" head, "02" spouse, "03" child, "04" parent, "05" grandparent, "06" grandchild,
    #                      "07" sibling, "08" child-in-law, "09" other
    sex: str                              # "M" | "F"
    birth_date: str | None                # ISO when the full date is written, else None
    birth_year: int
    ethnicity_code: str | None            # the 2008 code; None if the roster has no ethnicity column
    id_number: str | None                 # 12-digit CCCD or 9-digit CMND, as the MIS stores it
    file: str
    sheet: str
    row: int                              # Excel row number (1-based); CSV line number

    @property
    def id_kind(self) -> str | None:
        if self.id_number is None:
            return None
        return "cccd" if len(self.id_number) == 12 else "cmnd"


@dataclass
class Household:
    local_code: str                       # the code exactly as the district writes it
    commune_code_pre2025: str | None      # None for a current-era roster
    commune_code: str                     # the current commune it lands in ("" when it cannot be placed)
    district_code_pre2025: str | None
    hamlet: str | None
    area: str                             # "urban" | "rural": from the commune's level, never the hamlet word
    assessment_year: int
    poverty_category: str                 # "poor" | "near_poor"
    income_per_capita: int | None
    deprivation_count: int | None         # None when the roster gives neither count nor marks
    indicators: dict[str, bool] | None    # when mark columns exist
    members: list[Member]
    error_rule: str | None = None         # an injected error: the household must be held, not loaded

    @property
    def rows(self) -> list[tuple[str, str, int]]:
        return [(m.file, m.sheet, m.row) for m in self.members]


@dataclass
class SheetTruth:
    file: str
    sheet: str
    rows_nonempty: int                    # every non-empty row (title, header, data, subtotal, footer)
    data_rows: int                        # member rows
    skipped_rows: int                     # rows_nonempty - data_rows


@dataclass
class Layout:
    name: str
    folder: Path
    source: dict                          # the misgw.yaml entry
    households: list[Household]
    sheets: list[SheetTruth]
    errors: list[tuple[str, str, int, str]]   # (file, sheet, row, rule id) of the injected errors
    description: str

    @property
    def clean(self) -> list[Household]:
        return [h for h in self.households if h.error_rule is None]

    @property
    def held(self) -> list[Household]:
        return [h for h in self.households if h.error_rule is not None]


# Rules about a whole household (its shape, its poverty data, its unit): the gateway may name any row of
# the household. Every other injected rule is about one cell, and its row is exact.
RULES_HOUSEHOLD_SCOPE = ("household.", "poverty.", "unit.")

# ---------------------------------------------------------------- domain facts
INDICATORS = ["d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water_source", "d_latrine",
              "d_telecom", "d_information_access"]
INDICATOR_HEADERS = {
    "d_employment": "Việc làm", "d_dependants": "Người phụ thuộc", "d_nutrition": "Dinh dưỡng",
    "d_health_insurance": "Bảo hiểm y tế", "d_adult_education": "Trình độ giáo dục của người lớn",
    "d_child_school": "Tình trạng đi học của trẻ em", "d_housing_quality": "Chất lượng nhà ở",
    "d_floor_area": "Diện tích nhà ở bình quân đầu người", "d_water_source": "Nguồn nước sinh hoạt",
    "d_latrine": "Nhà tiêu hợp vệ sinh", "d_telecom": "Sử dụng dịch vụ viễn thông",
    "d_information_access": "Phương tiện phục vụ tiếp cận thông tin"}
POVERTY_LINE = {"rural": 1_500_000, "urban": 2_000_000}          # Decree 07/2021, years 2022-2026


def poverty_line(area: str, year: int) -> int:
    if 2022 <= year <= 2026:
        return POVERTY_LINE[area]
    raise ValueError(f"no poverty line in this corpus for {year}")


ETHNICITY_2008 = {"kinh": "01", "khmer": "05", "hoa": "06"}    # Decision 1019/QĐ-TCTK


@dataclass(frozen=True)
class Commune:
    code: str                 # pre-2025 code ("" for a current-era unit)
    name: str                 # pre-2025 name as the reference table writes it
    level: str                # Xã / Phường / Thị trấn
    district_code: str | None
    province_code: str | None
    new_code: str             # the current commune (crosswalk); "" when the old commune was split
    new_name: str

    @property
    def area(self) -> str:
        return "rural" if self.level == "Xã" else "urban"

    @property
    def bare(self) -> str:
        for prefix in ("Thị trấn ", "Phường ", "Xã "):
            if self.name.startswith(prefix):
                return self.name[len(prefix):]
        return self.name


def _c(code, name, level, district, province, new_code, new_name) -> Commune:
    return Commune(code, name, level, district, province, new_code, new_name)


# Every unit the corpus uses, as communes-pre-2025.csv and crosswalk-2025-07-01.csv give it (the
# generator's tests check each against the reference tables). All are placed whole in one new commune,
# except 31207 (Phường Thốt Nốt, merged in part into two), used on purpose for one held household.
COMMUNES = {c.code or c.new_code: c for c in [
    # old Cần Thơ (92), Huyện Thới Lai (927)
    _c("31258", "Thị trấn Thới Lai", "Thị trấn", "927", "92", "31258", "Xã Thới Lai"),
    _c("31294", "Xã Trường Xuân", "Xã", "927", "92", "31294", "Xã Trường Xuân"),
    _c("31282", "Xã Đông Thuận", "Xã", "927", "92", "31282", "Xã Đông Thuận"),
    _c("31288", "Xã Định Môn", "Xã", "927", "92", "31288", "Xã Trường Thành"),
    # old Cần Thơ (92), Quận Cái Răng (919)
    _c("31186", "Phường Lê Bình", "Phường", "919", "92", "31186", "Phường Cái Răng"),
    _c("31189", "Phường Hưng Phú", "Phường", "919", "92", "31201", "Phường Hưng Phú"),
    _c("31195", "Phường Ba Láng", "Phường", "919", "92", "31186", "Phường Cái Răng"),
    _c("31204", "Phường Tân Phú", "Phường", "919", "92", "31201", "Phường Hưng Phú"),
    # old Cần Thơ (92), Quận Thốt Nốt (923)
    _c("31213", "Phường Tân Lộc", "Phường", "923", "92", "31213", "Phường Tân Lộc"),
    _c("31228", "Phường Thuận Hưng", "Phường", "923", "92", "31228", "Phường Thuận Hưng"),
    _c("31216", "Phường Trung Nhứt", "Phường", "923", "92", "31217", "Phường Trung Nhứt"),
    _c("31210", "Phường Thới Thuận", "Phường", "923", "92", "31207", "Phường Thốt Nốt"),
    _c("31207", "Phường Thốt Nốt", "Phường", "923", "92", "", ""),          # split: 31207 and 31228
    # old Hậu Giang (93), Huyện Long Mỹ (936)
    _c("31492", "Xã Lương Tâm", "Xã", "936", "93", "31492", "Xã Lương Tâm"),
    _c("31495", "Xã Xà Phiên", "Xã", "936", "93", "31495", "Xã Xà Phiên"),
    _c("31489", "Thị trấn Vĩnh Viễn", "Thị trấn", "936", "93", "31489", "Xã Vĩnh Viễn"),
    _c("31486", "Xã Vĩnh Thuận Đông", "Xã", "936", "93", "31453", "Xã Vĩnh Thuận Đông"),
    # old Hậu Giang (93), Thành phố Vị Thanh (930)
    _c("31318", "Phường I", "Phường", "930", "93", "31321", "Phường Vị Thanh"),
    _c("31321", "Phường III", "Phường", "930", "93", "31321", "Phường Vị Thanh"),
    _c("31324", "Phường IV", "Phường", "930", "93", "31333", "Phường Vị Tân"),
    _c("31327", "Phường V", "Phường", "930", "93", "31333", "Phường Vị Tân"),
    # old Sóc Trăng (94), Thị xã Vĩnh Châu (950)
    _c("31789", "Phường Khánh Hòa", "Phường", "950", "94", "31789", "Phường Khánh Hòa"),
    _c("31795", "Xã Vĩnh Hải", "Xã", "950", "94", "31795", "Xã Vĩnh Hải"),
    _c("31810", "Xã Lai Hòa", "Xã", "950", "94", "31810", "Xã Lai Hòa"),
    _c("31804", "Phường Vĩnh Phước", "Phường", "950", "94", "31804", "Phường Vĩnh Phước"),
    # old Sóc Trăng (94), Huyện Mỹ Tú (944)
    _c("31579", "Xã Long Hưng", "Xã", "944", "94", "31579", "Xã Long Hưng"),
    _c("31591", "Xã Mỹ Hương", "Xã", "944", "94", "31591", "Xã Mỹ Hương"),
    _c("31603", "Xã Mỹ Phước", "Xã", "944", "94", "31603", "Xã Mỹ Phước"),
    _c("31567", "Thị trấn Huỳnh Hữu Nghĩa", "Thị trấn", "944", "94", "31567", "Xã Mỹ Tú"),
    # old Sóc Trăng (94), Huyện Kế Sách (943)
    _c("31537", "Xã Phong Nẫm", "Xã", "943", "94", "31537", "Xã Phong Nẫm"),
    _c("31561", "Xã Đại Hải", "Xã", "943", "94", "31561", "Xã Đại Hải"),
    _c("31552", "Xã Nhơn Mỹ", "Xã", "943", "94", "31552", "Xã Nhơn Mỹ"),
    _c("31528", "Thị trấn Kế Sách", "Thị trấn", "943", "94", "31528", "Xã Kế Sách"),
    # today's Cần Thơ, a commune formed on 1 July 2025 (old Phú Hữu, Phú Tân, Đông Phước of Hậu Giang)
    _c("", "Xã Phú Hữu", "Xã", None, None, "31378", "Xã Phú Hữu"),
]}
SPLIT_COMMUNE = "31207"
SPLIT_CANDIDATES = ("31207", "31228")

# ---------------------------------------------------------------- people
_KINH_FAMILY = (["Nguyễn"] * 6 + ["Trần"] * 3 + ["Lê"] * 3 + ["Phạm", "Huỳnh", "Huỳnh", "Võ", "Võ", "Phan",
                "Trương", "Bùi", "Đặng", "Đỗ", "Ngô", "Hồ", "Dương", "Đinh", "Lương", "Cao", "Tô",
                "Mai", "Châu", "Lâm", "Quách", "Thái", "Từ", "Kiều", "Đoàn", "Lưu", "Phùng"])
_KINH_MID_M = ["Văn"] * 6 + ["Hữu", "Minh", "Thanh", "Quốc", "Hoàng", "Công", "Thành", "Tấn", "Phước", "Chí"]
_KINH_MID_F = ["Thị"] * 6 + ["Ngọc", "Kim", "Thu", "Mỹ", "Bích", "Thanh", "Hồng", "Diễm", "Cẩm", "Tuyết"]
_KINH_GIVEN_M = ["Tâm", "Phúc", "Lộc", "Tài", "Hùng", "Dũng", "Nghĩa", "Hiếu", "Toàn", "Sang", "Khang",
                 "Thuận", "Hậu", "Lợi", "Nhân", "Tuấn", "Đạt", "Quý", "Trí", "Hoài", "Tùng", "Khải", "Mến",
                 "Út", "Bảy", "Tư", "Sáu", "Chín", "Mười", "Rớt", "Cường", "Phong", "Hải", "Vinh",
                 "Thắng", "Nhựt", "Hưởng", "Lành", "Đức", "Em", "Kha", "Triều", "Luân", "Khoa", "Thiện"]
_KINH_GIVEN_F = ["Lan", "Hoa", "Mai", "Cúc", "Hồng", "Nga", "Thảo", "Hạnh", "Diễm", "Trinh", "Tuyết",
                 "Nhung", "Xuân", "Yến", "Loan", "Út", "Thắm", "Phượng", "Huệ", "Lài", "Gấm", "Nhi", "Vy",
                 "Trâm", "Ngân", "Kiều", "Thủy", "Hương", "Dung", "Ánh", "Nguyệt", "Liên", "Sen", "Đào",
                 "Lệ", "Thơm", "Mận", "Quyên", "Tiên", "Hằng"]
_KHMER_FAMILY = ["Thạch"] * 5 + ["Sơn"] * 4 + ["Danh"] * 3 + ["Kim"] * 2 + ["Lâm", "Lý", "Trần", "Châu",
                                                                         "Triệu", "Huỳnh", "Dương", "Tăng"]
_KHMER_GIVEN_M = ["Sà Rết", "Sóc Khươl", "Ngọc Phươl", "Sa Rin", "Chanh Đa", "Sô Phal", "Mây", "Sà Phát",
                  "Khem", "Phol", "Rinh", "Sa Vết", "Thươl", "Chanh Ty", "Sà Rương", "Ky", "Sóc Chen",
                  "Na Ri", "Minh Tha", "Cà Sên", "Văn Khen", "Văn Sà Ni", "Văn Phách", "Ươl", "Sa Muôl",
                  "Rươne", "Xà Phanh", "Văn Chanh", "Hên", "Sươl"]
_KHMER_GIVEN_F = ["Thị Sà Phên", "Thị Chanh Thu", "Thị Sóc Kha", "Thị Sà Quol", "Thị Kim Quên",
                  "Thị Sa Ry", "Thị Sô Phia", "Thị Chăn Na", "Thị Sa Mết", "Thị Nang", "Thị Sà Rum",
                  "Thị Ngọc Sa Ly", "Thị Sóc Thi", "Thị Kim Sanh", "Thị Chanh Ry", "Thị Chanh Rươne",
                  "Thị Sa Phươne", "Thị Mỹ Thươl", "Thị Sà Ly", "Thị Pha Ly", "Thị Chen Đa", "Thị Ni",
                  "Thị Sa Rát", "Thị Hươl", "Thị Sóc Phi"]
_HOA_FAMILY = ["Lâm", "Lý", "Tăng", "Quách", "Trương", "Mã", "Tô", "Triệu", "Hứa", "Lưu", "Diệp", "Trịnh",
               "Thái", "La", "Quan", "Lữ"]
_HOA_GIVEN_M = ["Chấn Hưng", "Khải Minh", "Vĩnh Phát", "Tuấn Kiệt", "Gia Huy", "Quốc Cường", "Hớn Phát",
                "Chí Thành", "Thế Vinh", "Văn Sáng", "Hữu Tài", "Kiến Hoa", "Cẩm Long", "Xương Vinh",
                "Bá Lộc", "Huệ Thành", "Vĩnh Xương", "Tắc Minh"]
_HOA_GIVEN_F = ["Huệ Mẫn", "Mỹ Huê", "Lệ Quyên", "Ngọc Muối", "Thục Hân", "Khánh Vân", "Tú Anh",
                "Bảo Trân", "Mỹ Lệ", "Kiều Oanh", "Thị Xuân", "Thị Muội", "Ngọc Hà", "Huệ Linh", "Mỹ Dung",
                "Thị Lìn", "Cẩm Tú", "Lệ Hoa"]


def _family(rng: random.Random, group: str) -> str:
    return rng.choice({"kinh": _KINH_FAMILY, "khmer": _KHMER_FAMILY, "hoa": _HOA_FAMILY}[group])


def _given(rng: random.Random, group: str, sex: str) -> str:
    if group == "kinh":
        while True:
            mid = rng.choice(_KINH_MID_M if sex == "M" else _KINH_MID_F)
            given = rng.choice(_KINH_GIVEN_M if sex == "M" else _KINH_GIVEN_F)
            if mid != given:
                return f"{mid} {given}"
    if group == "khmer":
        return rng.choice(_KHMER_GIVEN_M if sex == "M" else _KHMER_GIVEN_F)
    return rng.choice(_HOA_GIVEN_M if sex == "M" else _HOA_GIVEN_F)


@dataclass
class _P:
    """One person as generated, with what the writer needs; becomes a Member once written."""
    name: str
    code: str
    sex: str
    y: int
    m: int
    d: int
    group: str
    id: str | None = None
    year_only: bool = False
    var: float = 0.0            # a draw for the writer's per-cell variants (spelling, casing, cell type)
    messy: bool = False         # the name is written with stray spaces
    nfd: bool = False           # the name is written decomposed (Unicode tổ hợp)
    file: str = ""
    sheet: str = ""
    row: int = 0

    @property
    def iso(self) -> str:
        return f"{self.y:04d}-{self.m:02d}-{self.d:02d}"


@dataclass
class _H:
    commune: Commune
    hamlet: str | None
    local_code: str
    year: int
    category: str
    income: int
    deprived: list[str]
    persons: list[_P]
    error: str | None = None
    err_pi: int = 0
    bad: dict = field(default_factory=dict)      # (person index, cell key) -> value written instead

    @property
    def area(self) -> str:
        return self.commune.area


_IDS_USED: set[str] = set()


def _cccd(rng: random.Random, prov: str, sex: str, year: int) -> str:
    century = (year // 100 - 19) * 2 + (0 if sex == "M" else 1)
    while True:
        value = f"{prov}{century}{year % 100:02d}{rng.randrange(10 ** 6):06d}"
        if value not in _IDS_USED:
            _IDS_USED.add(value)
            return value


def _cmnd(rng: random.Random, old_province: str | None) -> str:
    prefix = "365" if old_province == "94" else "36"
    while True:
        value = prefix + "".join(str(rng.randrange(10)) for _ in range(9 - len(prefix)))
        if value not in _IDS_USED:
            _IDS_USED.add(value)
            return value


@dataclass
class _Style:
    """How one layout writes its people and values."""
    groups: tuple[float, float, float] = (0.85, 0.1, 0.05)     # kinh, khmer, hoa shares
    relation: str = "south"          # south: Ba/Má; north: Cha/Mẹ
    cmnd_share: float = 0.0          # of people aged 50+
    year_only_old: float = 0.3       # share of people born before 1960 with only the year written
    year_only_young: float = 0.0
    messy_share: float = 0.0
    nfd_share: float = 0.0
    birth_province: str = "092"


_TEMPLATES = ["single_elder", "couple_old", "nuclear", "up", "down", "grand", "siblings"]
_TEMPLATE_WEIGHTS = [8, 8, 32, 18, 18, 9, 7]


def _shape(rng: random.Random, year: int) -> list[tuple[str, str, int]]:
    """(relation code, sex, birth year) of a household's members, head first; ages consistent."""
    kind = rng.choices(_TEMPLATES, _TEMPLATE_WEIGHTS)[0]
    other = {"M": "F", "F": "M"}
    out: list[tuple[str, str, int]] = []
    if kind == "single_elder":
        out.append(("01", "F" if rng.random() < 0.6 else "M", year - rng.randint(62, 90)))
        return out
    if kind == "couple_old":
        hs = "M" if rng.random() < 0.8 else "F"
        hy = year - rng.randint(56, 82)
        return [("01", hs, hy), ("02", other[hs], min(hy + rng.randint(-3, 8), year - 50))]
    if kind in ("nuclear", "up"):
        hs = "M" if rng.random() < 0.75 else "F"
        hy = year - rng.randint(27, 55)
        out.append(("01", hs, hy))
        sy = hy
        if rng.random() < 0.85:
            sy = hy + rng.randint(-2, 7)
            out.append(("02", other[hs], sy))
        n = rng.randint(1, 4) if kind == "nuclear" else rng.randint(0, 3)
        for _ in range(n):
            cy = max(hy, sy) + rng.randint(18, 34)       # both parents at least 18 at the birth
            if cy <= year - 1 and cy - min(hy, sy) <= 45:
                out.append(("03", rng.choice("MF"), cy))
        if kind == "up":
            parents = rng.choice([["M"], ["F"], ["M", "F"], ["F"]])
            for s in parents:
                py = hy - (rng.randint(22, 35) if s == "M" else rng.randint(19, 32))
                if py >= year - 95:
                    out.append(("04", s, py))
        return out[:7]
    if kind == "down":
        hs = "M" if rng.random() < 0.6 else "F"
        hy = year - rng.randint(55, 78)
        out.append(("01", hs, hy))
        if rng.random() < 0.6:
            out.append(("02", other[hs], hy + rng.randint(-2, 6)))
        first = None
        for _ in range(rng.randint(1, 2)):
            cy = min(hy + rng.randint(20, 34), year - 18)
            s = rng.choice("MF")
            out.append(("03", s, cy))
            first = first or (s, cy)
        out.append(("08", other[first[0]], first[1] + rng.randint(-3, 3)))
        for _ in range(rng.randint(1, 3)):
            gy = first[1] + rng.randint(20, 32)
            if gy <= year - 1:
                out.append(("06", rng.choice("MF"), gy))
        return out[:7]
    if kind == "grand":
        hs = "M" if rng.random() < 0.6 else "F"
        hy = year - rng.randint(21, 34)
        out.append(("01", hs, hy))
        if rng.random() < 0.4:
            out.append(("02", other[hs], hy + rng.randint(-2, 4)))
        gy = max(hy - rng.randint(42, 58), year - 95)
        out.append(("05", rng.choice("MF"), gy))
        if rng.random() < 0.5:
            sy = hy + rng.randint(1, 10)
            if sy <= year - 1:
                out.append(("07", rng.choice("MF"), sy))
        return out
    # siblings
    hs = rng.choice("MF")
    hy = year - rng.randint(30, 60)
    out.append(("01", hs, hy))
    for _ in range(rng.randint(1, 2)):
        sy = hy + rng.choice([-7, -5, -3, -2, 2, 3, 4, 6, 9, 12])
        if sy <= year - 1:
            out.append(("07", rng.choice("MF"), sy))
    if rng.random() < 0.4:
        py = hy - rng.randint(20, 34)
        if py >= year - 95:
            out.append(("04", rng.choice("MF"), py))
    return out


def _people(rng: random.Random, year: int, style: _Style, old_province: str | None) -> list[_P]:
    group = rng.choices(["kinh", "khmer", "hoa"], style.groups)[0]
    shape = _shape(rng, year)
    head_family = _family(rng, group)
    head_sex = shape[0][1]
    spouse = next((s for c, s, _ in shape if c == "02"), None)
    spouse_family = _family(rng, group)
    for _attempt in range(5):
        if spouse_family != head_family:
            break
        spouse_family = _family(rng, group)
    if head_sex == "M":
        child_family = head_family
    elif spouse == "M":
        child_family = spouse_family                  # children take their father's family name
    else:
        child_family = _family(rng, group) if rng.random() < 0.5 else head_family
    persons: list[_P] = []
    names: set[str] = set()
    for code, sex, y in shape:
        for _attempt in range(50):
            if code in ("01", "07") or (code == "04" and sex == "M") or (code == "05" and sex == "M" and head_sex == "M"):
                fam = head_family
            elif code in ("03", "06"):
                fam = child_family
            elif code == "02" and _attempt == 0:
                fam = spouse_family
            else:
                fam = _family(rng, group)
            name = f"{fam} {_given(rng, group, sex)}"
            if name not in names:
                break
        names.add(name)
        m, d = rng.randint(1, 12), rng.randint(1, 28)
        age = year - y
        born_old = y < 1960
        year_only = rng.random() < (style.year_only_old if born_old else style.year_only_young)
        person = _P(name, code, sex, y, m, d, group, year_only=year_only, var=rng.random(),
                    messy=rng.random() < style.messy_share, nfd=rng.random() < style.nfd_share)
        if age >= 50 and rng.random() < style.cmnd_share:
            person.id = _cmnd(rng, old_province)
        elif age >= 14 and rng.random() < 0.93:
            person.id = _cccd(rng, _birth_province(rng, style), sex, y)
        elif age < 14 and rng.random() < 0.25:
            person.id = _cccd(rng, _birth_province(rng, style), sex, y)
        persons.append(person)
    return persons


def _birth_province(rng: random.Random, style: _Style) -> str:
    r = rng.random()
    if r < 0.82:
        return style.birth_province
    return rng.choice(["079", "079", "001", "089", "091", "086", "092", "093", "094"])


def _household(rng: random.Random, commune: Commune, hamlet: str | None, code: str, year: int,
               style: _Style) -> _H:
    persons = _people(rng, year, style, commune.province_code)
    line = poverty_line(commune.area, year)
    poor_share = 0.75 if len(persons) == 1 else 0.55
    category = "poor" if rng.random() < poor_share else "near_poor"
    if rng.random() < 0.05:
        income = line                                                    # at the line: still within it
    elif category == "poor":
        income = rng.randint(int(0.35 * line) // 1000, line // 1000) * 1000
    else:
        income = rng.randint(int(0.7 * line) // 1000, line // 1000) * 1000
    k = rng.choices([3, 4, 5, 6], [40, 30, 20, 10])[0] if category == "poor" else rng.choices([0, 1, 2], [25, 40, 35])[0]
    weights = [3, 2, 1, 4, 4, 1, 4, 2, 2, 3, 1, 2]
    deprived: set[str] = set()
    while len(deprived) < k:
        deprived.add(rng.choices(INDICATORS, weights)[0])
    return _H(commune, hamlet, code, year, category, income, [i for i in INDICATORS if i in deprived], persons)


# ---------------------------------------------------------------- injected errors
def _age(h: _H, p: _P) -> int:
    return h.year - p.y


def _inject(rng: random.Random, houses: list[_H], plan: list[str], style: _Style) -> None:
    """Give len(plan) different households one real error each (the rule ids of expectations/rules.yaml)."""
    taken: set[int] = set()

    def pick(ok) -> _H:
        cands = [i for i, h in enumerate(houses) if i not in taken and h.error is None and ok(h)]
        i = rng.choice(cands)
        taken.add(i)
        return houses[i]

    def idx(h: _H, ok) -> int:
        return rng.choice([i for i, p in enumerate(h.persons) if ok(i, p)])

    for rule in plan:
        if rule in ("cccd.birth_year", "cccd.sex_century", "cccd.province", "id.rounded"):
            h = pick(lambda h: any(p.id and len(p.id) == 12 and _age(h, p) >= 18 for p in h.persons))
            pi = idx(h, lambda i, p: p.id is not None and len(p.id) == 12 and _age(h, p) >= 18)
            p = h.persons[pi]
            if rule == "cccd.birth_year":
                p.id = p.id[:4] + f"{(int(p.id[4:6]) + 7) % 100:02d}" + p.id[6:]
            elif rule == "cccd.sex_century":
                p.id = p.id[:3] + str(int(p.id[3]) ^ 1) + p.id[4:]
            elif rule == "cccd.province":
                p.id = "003" + p.id[3:]
            else:
                h.bad[(pi, "id")] = f"{int(p.id):.5E}"          # "9.41235E+10": the digits are gone
        elif rule == "format.birth_date":
            h = pick(lambda h: any(_age(h, p) >= 18 for p in h.persons))
            pi = idx(h, lambda i, p: _age(h, p) >= 18)
            p = h.persons[pi]
            p.year_only = False
            h.bad[(pi, "dob")] = f"31/02/{p.y}" if p.var < 0.5 else f"31/04/{p.y}"
        elif rule == "codelist.sex":
            h = pick(lambda h: len(h.persons) >= 2)
            pi = idx(h, lambda i, p: i > 0)
            h.bad[(pi, "sex")] = "Không rõ" if style.relation == "south" else "3"
        elif rule == "required.full_name":
            h = pick(lambda h: any(i > 0 and p.id for i, p in enumerate(h.persons)))
            pi = idx(h, lambda i, p: i > 0 and p.id is not None)
            h.bad[(pi, "name")] = None
        elif rule == "household.head_count":
            h = pick(lambda h: any(p.code == "02" for p in h.persons))
            pi = idx(h, lambda i, p: p.code == "02")
            h.persons[pi].code = "01"                 # two people written "Chủ hộ"
        elif rule == "household.head_count/none":
            h = pick(lambda h: any(p.code == "02" for p in h.persons))
            pi = 0
            h.persons[0].code = "02"                  # the head written as "Chồng"/"Vợ": no head at all
            rule = "household.head_count"
        elif rule == "age.relation":
            h = pick(lambda h: any(p.code == "03" for p in h.persons))
            pi = idx(h, lambda i, p: p.code == "03")
            p = h.persons[pi]
            p.y = h.persons[0].y - rng.randint(3, 8)   # a child born before the head
            if p.id and len(p.id) == 12:
                p.id = _cccd(rng, p.id[:3], p.sex, p.y)
        elif rule == "age.relation/parent":
            h = pick(lambda h: any(p.code == "04" for p in h.persons))
            pi = idx(h, lambda i, p: p.code == "04")
            p = h.persons[pi]
            p.y = h.persons[0].y + rng.randint(4, 9)   # a parent born after the head
            if p.id and len(p.id) == 12:
                p.id = _cccd(rng, p.id[:3], p.sex, p.y)
            rule = "age.relation"
        elif rule == "poverty.income_above_line":
            h = pick(lambda h: h.category == "poor")
            pi = 0
            h.income = 2 * poverty_line(h.area, h.year) + rng.randint(1, 9) * 50_000
        elif rule == "poverty.too_few_deprivations":
            h = pick(lambda h: h.category == "poor")
            pi = 0
            h.deprived = [rng.choice(h.deprived)]
        else:
            raise ValueError(rule)
        h.error, h.err_pi = rule, pi


# ---------------------------------------------------------------- cell values
_MISSING = object()
_KHMER_SPELLINGS = {"a": ["Khmer", "Khơ-me"], "b": ["Khơ me", "Khmer"], "c": ["Khơ-me", "Khơ me", "Khmer"]}


def _relation_word(h: _H, p: _P, style: _Style) -> str:
    head = h.persons[0]
    if p.code == "01":
        return "Chủ hộ"
    if p.code == "02":
        return "Vợ" if p.sex == "F" else "Chồng"
    if p.code == "03":
        return "Con"
    if p.code == "04":
        if style.relation == "south":
            return "Ba" if p.sex == "M" else "Má"
        return "Cha" if p.sex == "M" else "Mẹ"
    if p.code == "05":
        return "Ông" if p.sex == "M" else "Bà"
    if p.code == "06":
        return "Cháu"
    if p.code == "07":
        if p.y < head.y:
            return "Anh" if p.sex == "M" else "Chị"
        return "Em"
    if p.code == "08":
        return "Con dâu" if p.sex == "F" else "Con rể"
    return "Khác"


def _value(h: _H, pi: int, key: str, st: dict, style: _Style):
    over = h.bad.get((pi, key), _MISSING)
    if over is not _MISSING:
        return over
    p = h.persons[pi]
    if key == "code":
        return h.local_code
    if key == "commune_name":
        return h.commune.bare if st.get("commune") == "bare" else h.commune.name
    if key == "commune_code":
        code = h.commune.code or h.commune.new_code
        return int(code) if st.get("commune_code") == "number" else code
    if key == "hamlet":
        return h.hamlet
    if key == "name":
        name = p.name.upper() if st.get("name") == "upper" else p.name
        if p.messy:
            name = " " + name.replace(" ", "  ", 1) + " "
        if p.nfd:
            name = unicodedata.normalize("NFD", name)
        return name
    if key == "rel":
        return _relation_word(h, p, style)
    if key == "sex":
        s = st.get("sex", "word")
        if s == "word":
            return "Nam" if p.sex == "M" else "Nữ"
        if s == "word_case":
            forms = ["Nam", "nam", "NAM"] if p.sex == "M" else ["Nữ", "nữ", "NỮ"]
            return forms[int(p.var * 3)]
        if s == "12":
            return 1 if p.sex == "M" else 2
        if s == "10":
            return "1" if p.sex == "M" else "0"
        raise ValueError(s)
    if key == "dob":
        s = st.get("dob", "text")
        if p.year_only:
            return str(p.y) if s == "text" else p.y
        if s == "text":
            return f"{p.d:02d}/{p.m:02d}/{p.y}"
        if s == "text_nopad":
            return f"{p.d}/{p.m}/{p.y}"
        if s == "date":
            return dt.datetime(p.y, p.m, p.d)
        raise ValueError(s)
    if key == "eth":
        if st.get("eth") == "code":
            return ETHNICITY_2008[p.group]
        if p.group == "khmer":
            forms = _KHMER_SPELLINGS[st.get("khmer", "a")]
            return forms[int(p.var * len(forms))]
        return {"kinh": "Kinh", "hoa": "Hoa"}[p.group]
    if key == "id":
        if p.id is None:
            return None
        s = st.get("id", "text")
        if s == "number" or (s == "mixed" and p.var < 0.5):
            return int(p.id)                        # Excel drops the leading 0: 11 digits for a CCCD
        return p.id
    if key == "nk":
        return len(h.persons)
    if key == "category":
        s = st.get("category", "full")
        return {"full": {"poor": "Hộ nghèo", "near_poor": "Hộ cận nghèo"},
                "short": {"poor": "Nghèo", "near_poor": "Cận nghèo"},
                "abbr": {"poor": "HN", "near_poor": "HCN"},
                "code": {"poor": "1", "near_poor": "2"}}[s][h.category]
    if key == "year":
        return str(h.year) if st.get("year") == "text" else h.year
    if key == "income":
        return str(h.income) if st.get("income") == "text" else h.income
    if key == "count":
        return str(len(h.deprived)) if st.get("count") == "text" else len(h.deprived)
    if key in INDICATORS:
        return "x" if key in h.deprived else None
    raise ValueError(key)


# ---------------------------------------------------------------- writing sheets
@dataclass
class _Col:
    header: str
    key: str
    group: str | None = None       # two-row header: the group title above this column
    head_only: bool = False        # written on the head's row only
    width: float = 12


class _Out:
    """One sheet being written: counts its non-empty rows and its member rows."""

    def __init__(self, ws, file: str, sheet: str):
        self.ws, self.file, self.sheet = ws, file, sheet
        self.row = 0
        self.nonempty = 0
        self.data = 0

    def put(self, values, data: bool = False, merge: list[tuple[int, int]] = (), bold: bool = False,
            center: bool = False) -> int:
        """values: a list (column 1 first) or a dict column -> value."""
        self.row += 1
        r = self.row
        items = values.items() if isinstance(values, dict) else enumerate(values, 1)
        written = False
        for c, v in items:
            if v is None or v == "":
                continue
            cell = self.ws.cell(r, c, v)
            written = True
            if isinstance(v, dt.datetime):
                cell.number_format = "dd/mm/yyyy"
            elif isinstance(v, int) and v > 10 ** 8:
                cell.number_format = "0"
            if bold:
                cell.font = Font(bold=True)
            if center:
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for c1, c2 in merge:
            if c2 > c1:
                self.ws.merge_cells(start_row=r, start_column=c1, end_row=r, end_column=c2)
        if written:
            self.nonempty += 1
        if data:
            self.data += 1
        return r

    def blank(self) -> None:
        self.row += 1

    def truth(self) -> SheetTruth:
        return SheetTruth(self.file, self.sheet, self.nonempty, self.data, self.nonempty - self.data)


def _header(out: _Out, cols: list[_Col]) -> None:
    """One header row, or two when some columns sit under a group title (merged over them)."""
    for i, col in enumerate(cols, 1):
        out.ws.column_dimensions[_letter(i)].width = col.width
    if not any(c.group for c in cols):
        out.put([c.header for c in cols], bold=True, center=True)
        return
    top: dict[int, str] = {}
    merges: list[tuple[int, int]] = []
    i = 0
    while i < len(cols):
        col = cols[i]
        if col.group is None:
            top[i + 1] = col.header
            i += 1
            continue
        j = i
        while j + 1 < len(cols) and cols[j + 1].group == col.group:
            j += 1
        top[i + 1] = col.group
        merges.append((i + 1, j + 1))
        i = j + 1
    r1 = out.put(top, merge=merges, bold=True, center=True)
    out.put({i: c.header for i, c in enumerate(cols, 1) if c.group}, bold=True, center=True)
    for i, col in enumerate(cols, 1):
        if col.group is None:
            out.ws.merge_cells(start_row=r1, start_column=i, end_row=r1 + 1, end_column=i)


def _letter(i: int) -> str:
    s = ""
    while i:
        i, rem = divmod(i - 1, 26)
        s = chr(65 + rem) + s
    return s


def _members(out: _Out, cols: list[_Col], houses: list[_H], st: dict, style: _Style,
             stt: str | None, counter: list[int]) -> None:
    """The member rows of the households, in order; records each person's row."""
    for h in houses:
        for pi, p in enumerate(h.persons):
            values = []
            for col in cols:
                if col.key == "stt":
                    if stt == "member" or (stt == "household" and pi == 0):
                        counter[0] += 1
                        values.append(counter[0])
                    else:
                        values.append(None)
                elif col.head_only and pi > 0:
                    values.append(None)
                else:
                    values.append(_value(h, pi, col.key, st, style))
            p.file, p.sheet = out.file, out.sheet
            p.row = out.put(values, data=True)


def _footer(out: _Out, place: str, signer_title: str, ncols: int, dated: str | None,
            names: tuple[str, str]) -> None:
    """Signature block: date line, "Người lập biểu" and the committee, then the signers' names."""
    right = max(ncols - 5, 4)
    out.blank()
    if dated is not None:
        out.put({right: f"{place}, {dated}"}, merge=[(right, ncols)], center=True)
    out.put({2: "Người lập biểu", right: signer_title}, merge=[(2, 4), (right, ncols)], bold=True, center=True)
    out.put({2: "(Ký, ghi rõ họ tên)", right: "CHỦ TỊCH" if "TM." in signer_title else "(Ký tên, đóng dấu)"},
            merge=[(2, 4), (right, ncols)], center=True)
    out.blank()
    out.blank()
    out.blank()
    out.put({2: names[0], right: names[1]}, merge=[(2, 4), (right, ncols)], bold=True, center=True)


def _workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "UBND"
    wb.properties.created = dt.datetime(2024, 12, 10, 8, 0, 0)
    return wb


def _subtotal(out: _Out, label: str, houses: list[_H], cols: list[_Col]) -> None:
    values = {1: label}
    merge = [(1, 3)]
    for i, col in enumerate(cols, 1):
        if col.key == "nk":
            values[i] = sum(len(h.persons) for h in houses)
    out.put(values, merge=merge, bold=True)


def _sections(houses: list[_H], key) -> list[tuple[object, list[_H]]]:
    out: list[tuple[object, list[_H]]] = []
    for h in houses:
        k = key(h)
        if out and out[-1][0] == k:
            out[-1][1].append(h)
        else:
            out.append((k, [h]))
    return out


# ---------------------------------------------------------------- truth
def _truth(houses: list[_H], has_eth: bool, has_count: bool, has_marks: bool, era_current: bool) -> list[Household]:
    out = []
    for h in houses:
        members = []
        for pi, p in enumerate(h.persons):
            name_written = h.bad.get((pi, "name"), _MISSING)
            members.append(Member(
                full_name="" if name_written is None else p.name, relation_code=p.code, sex=p.sex,
                birth_date=None if p.year_only else p.iso, birth_year=p.y,
                ethnicity_code=ETHNICITY_2008[p.group] if has_eth else None, id_number=p.id,
                file=p.file, sheet=p.sheet, row=p.row))
        c = h.commune
        out.append(Household(
            local_code=h.local_code,
            commune_code_pre2025=None if era_current else c.code,
            commune_code=c.new_code,
            district_code_pre2025=None if era_current else c.district_code,
            hamlet=h.hamlet, area=c.area if not era_current else ("rural" if c.new_name.startswith("Xã") else "urban"),
            assessment_year=h.year, poverty_category=h.category, income_per_capita=h.income,
            deprivation_count=len(h.deprived) if (has_count or has_marks) else None,
            indicators={k: k in h.deprived for k in INDICATORS} if has_marks else None,
            members=members, error_rule=h.error))
    return out


def _errors(houses: list[_H]) -> list[tuple[str, str, int, str]]:
    out = []
    for h in houses:
        if h.error:
            p = h.persons[h.err_pi]
            out.append((p.file, p.sheet, p.row, h.error))
    return out


def _make(rng: random.Random, commune: Commune, hamlets: list[str] | None, n: int, year: int, style: _Style,
          code) -> list[_H]:
    """n households of one commune, spread over its hamlets and ordered by hamlet; code(i, h) numbers them."""
    houses = []
    for _ in range(n):
        hamlet = rng.choice(hamlets) if hamlets else None
        houses.append(_household(rng, commune, hamlet, "", year, style))
    if hamlets:
        houses.sort(key=lambda h: hamlets.index(h.hamlet))
    for i, h in enumerate(houses, 1):
        h.local_code = code(i, h)
    return houses


def _save(wb: Workbook, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


# ---------------------------------------------------------------- the layouts
def _l01(base: Path, rng: random.Random) -> Layout:
    """Thới Lai: one sheet per commune, codes 001.. restarting per sheet, the year only in the title."""
    name = "L01_thoi_lai_commune_sheets"
    folder = base / name
    style = _Style(groups=(0.9, 0.07, 0.03), relation="south", cmnd_share=0.06, year_only_old=0.35,
                   birth_province="092")
    year = 2025
    hamlets = {"31258": ["Ấp Thới Thuận A", "Ấp Thới Phong B", "Ấp Thới Hòa"],
               "31294": ["Ấp Trường Hòa", "Ấp Trường Phú 1", "Ấp Trường Ninh"],
               "31282": ["Ấp Đông Hiển", "Ấp Đông Giang", "Ấp Đông Lợi A"],
               "31288": ["Ấp Định Khánh A", "Ấp Định Hòa", "Ấp Định Phước"]}
    per_sheet = {c: _make(rng, COMMUNES[c], hamlets[c], 15, year, style, lambda i, h: f"{i:03d}") for c in hamlets}
    plan = {"31258": ["cccd.birth_year"], "31282": ["format.birth_date"], "31288": ["household.head_count"]}
    for c, rules in plan.items():
        _inject(rng, per_sheet[c], rules, style)
    cols = ([_Col("STT", "stt", width=5), _Col("Mã hộ", "code", width=8), _Col("Ấp", "hamlet", width=16),
             _Col("Họ và tên", "name", "Thông tin thành viên", width=26),
             _Col("Ngày sinh", "dob", "Thông tin thành viên"),
             _Col("Giới tính", "sex", "Thông tin thành viên", width=8),
             _Col("Quan hệ với chủ hộ", "rel"), _Col("Dân tộc", "eth", width=9), _Col("Số CCCD", "id", width=15),
             _Col("Phân loại hộ", "category"), _Col("Thu nhập bình quân (đồng/người/tháng)", "income", width=16)]
            + [_Col(INDICATOR_HEADERS[k], k, "Các chỉ số thiếu hụt", width=10) for k in INDICATORS])
    st = {"dob": "text", "id": "text", "sex": "word", "eth": "name", "khmer": "a", "category": "full"}
    n = len(cols)
    files = {"thoi-lai-cum-1.xlsx": ["31258", "31294"], "thoi-lai-cum-2.xlsx": ["31282", "31288"]}
    signers = {"31258": ("Nguyễn Thị Bích Liên", "Lê Văn Khởi"), "31294": ("Trần Minh Nhựt", "Võ Thanh Tùng"),
               "31282": ("Phạm Thị Kiều Diễm", "Huỳnh Văn Lực"), "31288": ("Đặng Ngọc Trâm", "Bùi Hữu Lễ")}
    sheets = []
    for fname, codes in files.items():
        wb = _workbook()
        for c in codes:
            commune = COMMUNES[c]
            ws = wb.create_sheet(commune.name)
            out = _Out(ws, fname, commune.name)
            unit = commune.name.upper()
            out.put({1: "UBND HUYỆN THỚI LAI", 12: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"},
                    merge=[(1, 6), (12, n)], bold=True, center=True)
            out.put({1: f"UBND {unit}", 12: "Độc lập - Tự do - Hạnh phúc"}, merge=[(1, 6), (12, n)],
                    bold=True, center=True)
            out.blank()
            out.put({1: f"DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}"}, merge=[(1, n)], bold=True, center=True)
            out.put({1: "(Kèm theo Quyết định số ……/QĐ-UBND của Ủy ban nhân dân huyện Thới Lai)"},
                    merge=[(1, n)], center=True)
            out.blank()
            _header(out, cols)
            out.put([f"({i})" for i in range(1, n + 1)], center=True)
            counter = [0]
            sections = _sections(per_sheet[c], lambda h: h.hamlet)
            for si, (hamlet, hs) in enumerate(sections):
                _members(out, cols, hs, st, style, "household", counter)
                _subtotal(out, f"Cộng {hamlet[0].lower()}{hamlet[1:]}", hs, cols)
                if si < len(sections) - 1:
                    out.blank()
            total_people = sum(len(h.persons) for h in per_sheet[c])
            out.put({1: f"Tổng cộng: {len(per_sheet[c])} hộ, {total_people} nhân khẩu"}, merge=[(1, 6)], bold=True)
            level = "THỊ TRẤN" if commune.level == "Thị trấn" else "XÃ"
            _footer(out, commune.bare, f"TM. UBND {level}", n, "ngày 15 tháng 12 năm 2024", signers[c])
            sheets.append(out.truth())
        _save(wb, folder / fname)
    houses = [h for c in files["thoi-lai-cum-1.xlsx"] + files["thoi-lai-cum-2.xlsx"] for h in per_sheet[c]]
    return Layout(name, folder, {"id": "ct-thoi-lai", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "927"},
                  _truth(houses, True, False, True, False), sheets, _errors(houses),
                  "Old Cần Thơ, Thới Lai (927): two workbooks, one sheet per commune named after it, codes "
                  "001.. restarting on every sheet, the year only in the merged title (the footer is dated "
                  "2024), two-row merged header, column numbers, hamlet subtotals, 12 indicator marks, "
                  "Ba/Má/Ông/Bà, household fields on every row.")


def _l02(base: Path, rng: random.Random) -> Layout:
    """Vĩnh Châu: several communes in one sheet (a commune-name column), codes restarting per commune."""
    name = "L02_vinh_chau_one_sheet"
    folder = base / name
    style = _Style(groups=(0.3, 0.55, 0.15), relation="south", year_only_old=0.4, messy_share=0.05,
                   birth_province="094")
    year = 2025
    hamlets = {"31789": ["Khóm 1", "Khóm Vĩnh Bình", "Khóm Soài Côn"],
               "31795": ["Ấp Huỳnh Kỳ", "Ấp Âu Thọ B", "Ấp Năm Căn"],
               "31810": ["Ấp Prey Chóp A", "Ấp Lai Hòa", "Ấp Xẻo Me"],
               "31804": ["Khóm Vĩnh Thạnh", "Khóm 4", "Khóm Biển Trên"]}
    houses: list[_H] = []
    for c in hamlets:
        houses += _make(rng, COMMUNES[c], hamlets[c], 13, year, style, lambda i, h: f"{i:03d}")
    _inject(rng, houses, ["poverty.too_few_deprivations", "codelist.sex", "age.relation"], style)
    cols = [_Col("STT", "stt", width=5), _Col("Xã, phường", "commune_name", width=18),
            _Col("Khóm, ấp", "hamlet", width=16), _Col("Mã hộ GĐ", "code", width=8),
            _Col("Họ và tên", "name", width=26), _Col("QH với CH", "rel"), _Col("GT", "sex", width=6),
            _Col("NS", "dob"), _Col("DT", "eth", width=8), _Col("Số CCCD", "id", width=15),
            _Col("Số NK", "nk", width=6), _Col("Loại hộ", "category"), _Col("Năm rà soát", "year", width=8),
            _Col("TN BQ (đồng/người/tháng)", "income", width=14),
            _Col("Tổng số chỉ số thiếu hụt", "count", width=10)]
    st = {"dob": "date", "id": "number", "sex": "word", "eth": "name", "khmer": "c", "category": "short"}
    n = len(cols)
    fname, sheet = "VinhChau_DS_ho_ngheo_can_ngheo.xlsx", "DS ho ngheo"
    wb = _workbook()
    out = _Out(wb.create_sheet(sheet), fname, sheet)
    out.put({1: "UBND THỊ XÃ VĨNH CHÂU"}, merge=[(1, 5)], bold=True)
    out.put({1: "KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO"}, merge=[(1, n)], bold=True, center=True)
    out.blank()
    _header(out, cols)
    counter = [0]
    sections = _sections(houses, lambda h: h.commune.code)
    for code, hs in sections:
        _members(out, cols, hs, st, style, "member", counter)
        _subtotal(out, f"Cộng {COMMUNES[code].name}", hs, cols)
        out.blank()
    out.put({1: "Tổng cộng", 11: sum(len(h.persons) for h in houses)}, merge=[(1, 3)], bold=True)
    _footer(out, "Vĩnh Châu", "KT. CHỦ TỊCH", n, "ngày 10 tháng 12 năm 2024",
            ("Lâm Thị Sa Rát", "Trương Quốc Hưng"))
    _save(wb, folder / fname)
    return Layout(name, folder, {"id": "st-vinh-chau", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "950"},
                  _truth(houses, True, True, False, False), [out.truth()], _errors(houses),
                  "Old Sóc Trăng, Vĩnh Châu (950): one sheet, four communes named in a column, codes 001.. "
                  "restarting per commune, Khóm/Ấp hamlets, abbreviated headers, CCCDs typed as numbers, "
                  "Excel dates and bare years, Khmer names and spellings, year column, deprivation count, "
                  "commune subtotals.")


def _l03(base: Path, rng: random.Random) -> Layout:
    """Mỹ Tú: a legacy export as UTF-8 CSV with accent-free upper-case codes, sex 1/0, category 1/2."""
    name = "L03_my_tu_legacy_csv"
    folder = base / name
    style = _Style(groups=(0.55, 0.38, 0.07), relation="north", year_only_old=0.5, birth_province="094")
    year = 2024
    houses: list[_H] = []
    for c in ["31579", "31591", "31603", "31567"]:
        houses += _make(rng, COMMUNES[c], None, 13, year, style, lambda i, h: f"{h.commune.code}-{i:05d}")
    _inject(rng, houses, ["cccd.province", "required.full_name", "id.rounded"], style)
    cols = [("MA_HO", "code"), ("HO_TEN", "name"), ("QUAN_HE", "rel"), ("GIOI_TINH", "sex"),
            ("NGAY_SINH", "dob"), ("MA_DT", "eth"), ("SO_CCCD", "id"), ("MA_XA", "commune_code"),
            ("PHAN_LOAI", "category"), ("NAM", "year"), ("THU_NHAP", "income"), ("SO_CS_THIEU_HUT", "count")]
    st = {"name": "upper", "sex": "10", "dob": "text", "eth": "code", "id": "text", "category": "code",
          "year": "text", "income": "text", "count": "text"}
    fname = "XUAT_DL_HN_HCN_MYTU.csv"
    sheet = Path(fname).stem
    folder.mkdir(parents=True, exist_ok=True)
    lines = [[h for h, _ in cols]]
    for h in houses:
        for pi, p in enumerate(h.persons):
            lines.append(["" if (v := _value(h, pi, key, st, style)) is None else str(v) for _, key in cols])
            p.file, p.sheet, p.row = fname, sheet, len(lines)
    with open(folder / fname, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(lines)
    (folder / "mapping.yaml").write_text(yaml.safe_dump(
        {"values": {"sex": {"1": "M", "0": "F"}, "poverty_category": {"1": "poor", "2": "near_poor"}}},
        allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Layout(name, folder, {"id": "st-my-tu-legacy", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "944", "mapping": f"{name}/mapping.yaml"},
                  _truth(houses, True, True, False, False),
                  [SheetTruth(fname, sheet, len(lines), len(lines) - 1, 1)], _errors(houses),
                  "Old Sóc Trăng, Mỹ Tú (944): legacy UTF-8 CSV export (BOM, CRLF) with MA_HO.. columns, names "
                  "in capitals, codes 31579-00001 per commune, sex 1/0 and category 1/2 declared in its mapping "
                  "YAML, MA_DT 2008 codes, MA_XA commune codes, NAM 2024, SO_CS_THIEU_HUT.")


def _l04(base: Path, rng: random.Random) -> Layout:
    """Kế Sách: the year only in the file name, household fields on the head's row, count and marks."""
    name = "L04_ke_sach_year_in_filename"
    folder = base / name
    style = _Style(groups=(0.6, 0.32, 0.08), relation="south", year_only_old=0.25, birth_province="094")
    year = 2024
    hamlets = {"31537": ["Ấp Phong Thạnh", "Ấp Phong Hòa", "Ấp Kinh Ngay 2"],
               "31561": ["Ấp Đại Hải", "Ấp Mang Cá", "Ấp Ba Trinh"],
               "31552": ["Ấp Nhơn Lộc", "Ấp Mỹ Hòa", "Ấp Nhơn Thuận"],
               "31528": ["Ấp An Thạnh", "Ấp An Ninh", "Ấp Cầu Chùa"]}
    houses: list[_H] = []
    for c, n in zip(hamlets, [12, 11, 11, 11]):
        houses += _make(rng, COMMUNES[c], hamlets[c], n, year, style, lambda i, h: "")
    for i, h in enumerate(houses, 1):
        h.local_code = f"KS-{i:04d}"                              # numbered across the district
    _inject(rng, houses, ["poverty.income_above_line", "age.relation/parent"], style)
    cols = ([_Col("TT", "stt", width=5), _Col("Mã hộ", "code", head_only=True, width=9),
             _Col("Mã xã", "commune_code", head_only=True, width=7), _Col("Ấp", "hamlet", head_only=True, width=15),
             _Col("Họ tên CH", "name", width=26), _Col("Quan hệ với chủ hộ", "rel"), _Col("GT", "sex", width=5),
             _Col("Ngày sinh", "dob"), _Col("Dân tộc", "eth", width=8), _Col("Số CCCD/CMND", "id", width=15),
             _Col("Số NK", "nk", head_only=True, width=6), _Col("Phân loại", "category", head_only=True, width=8),
             _Col("TN bình quân", "income", head_only=True, width=12),
             _Col("Số chỉ số thiếu hụt", "count", head_only=True, width=9)]
            + [_Col(INDICATOR_HEADERS[k], k, head_only=True, width=10) for k in INDICATORS])
    st = {"dob": "date", "id": "text", "sex": "12", "eth": "name", "khmer": "b", "category": "abbr",
          "commune_code": "number"}
    n = len(cols)
    fname, sheet = "ds-ho-ngheo-2024.xlsx", "Danh sách"
    wb = _workbook()
    out = _Out(wb.create_sheet(sheet), fname, sheet)
    out.put({1: "UBND HUYỆN KẾ SÁCH"}, merge=[(1, 5)], bold=True)
    out.put({1: "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"}, merge=[(1, 5)], bold=True)
    out.blank()
    out.put({1: "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO TRÊN ĐỊA BÀN HUYỆN"}, merge=[(1, n)], bold=True, center=True)
    out.blank()
    _header(out, cols)
    out.put(list(range(1, n + 1)), center=True)                   # column numbers as plain numbers
    counter = [0]
    sections = _sections(houses, lambda h: h.commune.code)
    for si, (_code, hs) in enumerate(sections):
        _members(out, cols, hs, st, style, "household", counter)
        if si < len(sections) - 1:
            out.blank()
    _footer(out, "Kế Sách", "KT. TRƯỞNG PHÒNG", n, "ngày …… tháng …… năm ……",
            ("Huỳnh Thị Cẩm Tú", "Sơn Chanh Đa"))
    _save(wb, folder / fname)
    return Layout(name, folder, {"id": "st-ke-sach", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "943"},
                  _truth(houses, True, True, True, False), [out.truth()], _errors(houses),
                  "Old Sóc Trăng, Kế Sách (943): the year only in the file name (ds-ho-ngheo-2024.xlsx), "
                  "household fields (code, commune code, hamlet, category, income, count, marks) on the "
                  "head's row only, both a count and 12 marks, sex 1/2, HN/HCN, Excel dates, column numbers "
                  "as plain numbers, 'Họ tên CH', 'TN bình quân'.")


def _l05(base: Path, rng: random.Random) -> Layout:
    """Long Mỹ: the year only in the sheet name ("Năm 2025")."""
    name = "L05_long_my_year_in_sheet"
    folder = base / name
    style = _Style(groups=(0.8, 0.12, 0.08), relation="south", cmnd_share=0.15, year_only_old=0.5,
                   year_only_young=0.1, messy_share=0.06, birth_province="093")
    year = 2025
    hamlets = {"31492": ["Ấp 3", "Ấp 4", "Ấp 9"], "31495": ["Ấp 1", "Ấp 6", "Ấp 7"],
               "31489": ["Ấp Vĩnh Hiếu", "Ấp Vĩnh Bình", "Ấp 2"], "31486": ["Ấp 5", "Ấp 8", "Ấp 10"]}
    houses: list[_H] = []
    for c in hamlets:
        houses += _make(rng, COMMUNES[c], hamlets[c], 10, year, style, lambda i, h: f"{h.commune.code}-{i:05d}")
    _inject(rng, houses, ["cccd.sex_century", "poverty.too_few_deprivations"], style)
    cols = [_Col("STT", "stt", width=5), _Col("Xã, thị trấn", "commune_name", width=18),
            _Col("Thôn/Ấp", "hamlet", width=14), _Col("Mã hộ", "code", width=13), _Col("Họ và tên", "name", width=26),
            _Col("QH với CH", "rel"), _Col("GT", "sex", width=6), _Col("NS", "dob"), _Col("DT", "eth", width=8),
            _Col("Số CCCD", "id", width=15), _Col("Phân loại hộ", "category"),
            _Col("Thu nhập BQ đầu người/tháng", "income", width=14), _Col("Số CS thiếu hụt", "count", width=9)]
    st = {"dob": "text_nopad", "id": "text", "sex": "word_case", "eth": "name", "khmer": "a", "category": "full"}
    n = len(cols)
    fname, sheet = "DS_HN_HCN_huyen_Long_My.xlsx", f"Năm {year}"
    wb = _workbook()
    out = _Out(wb.create_sheet(sheet), fname, sheet)
    out.put({1: "UBND HUYỆN LONG MỸ"}, merge=[(1, 5)], bold=True)
    out.put({1: "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO"}, merge=[(1, n)], bold=True, center=True)
    out.blank()
    _header(out, cols)
    _members(out, cols, houses, st, style, "member", [0])
    out.put({1: f"Tổng cộng: {len(houses)} hộ"}, merge=[(1, 3)], bold=True)
    _footer(out, "Long Mỹ", "TM. ỦY BAN NHÂN DÂN HUYỆN", n, None, ("Võ Thị Ngọc Hân", "Nguyễn Hoàng Phúc"))
    _save(wb, folder / fname)
    return Layout(name, folder, {"id": "hg-long-my", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "936"},
                  _truth(houses, True, True, False, False), [out.truth()], _errors(houses),
                  "Old Hậu Giang, Long Mỹ (936): the year only in the sheet name 'Năm 2025', Thôn/Ấp hamlets, "
                  "codes 31492-00001, sex written Nam/nam/NAM, dates d/m/yyyy unpadded or a bare year, CMND "
                  "for some elders, names with stray spaces, 'Số CS thiếu hụt'.")


def _l06(base: Path, rng: random.Random) -> Layout:
    """Cái Răng: wards with a "Khu vực" column (the hamlet, not the area), 12 marks, codes HN-/CN-."""
    name = "L06_cai_rang_khu_vuc"
    folder = base / name
    style = _Style(groups=(0.93, 0.02, 0.05), relation="south", year_only_old=0.3, birth_province="092")
    year = 2025
    wards = ["31186", "31189", "31195", "31204"]
    houses: list[_H] = []
    for c in wards:
        hs = _make(rng, COMMUNES[c], ["Khu vực 1", "Khu vực 2", "Khu vực 3", "Khu vực 4"], 10, year, style,
                   lambda i, h: "")
        counts = {"poor": 0, "near_poor": 0}
        for h in hs:                                   # HN-001.. and CN-001.., restarting in every ward
            counts[h.category] += 1
            h.local_code = f"{'HN' if h.category == 'poor' else 'CN'}-{counts[h.category]:03d}"
        houses += hs
    _inject(rng, houses, ["poverty.income_above_line", "cccd.birth_year"], style)
    cols = ([_Col("STT", "stt", width=5), _Col("Phường", "commune_name", width=12), _Col("Khu vực", "hamlet", width=10),
             _Col("Mã hộ", "code", width=8), _Col("Họ và tên", "name", "Thông tin thành viên", width=26),
             _Col("Ngày sinh", "dob", "Thông tin thành viên"), _Col("Giới tính", "sex", "Thông tin thành viên", width=8),
             _Col("Quan hệ với chủ hộ", "rel"), _Col("Số CCCD", "id", width=15), _Col("Phân loại hộ", "category"),
             _Col("Năm rà soát", "year", width=8), _Col("Thu nhập bình quân đầu người", "income", width=14)]
            + [_Col(INDICATOR_HEADERS[k], k, "Chỉ số thiếu hụt các dịch vụ xã hội cơ bản", width=10)
               for k in INDICATORS])
    st = {"dob": "date", "id": "text", "sex": "word", "category": "full", "commune": "bare"}
    n = len(cols)
    fname, sheet = "CaiRang_ho_ngheo.xlsx", "Danh sách"
    wb = _workbook()
    out = _Out(wb.create_sheet(sheet), fname, sheet)
    out.put({1: "UBND QUẬN CÁI RĂNG"}, merge=[(1, 5)], bold=True)
    out.put({1: f"DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}"}, merge=[(1, n)], bold=True, center=True)
    out.blank()
    _header(out, cols)
    out.put([f"({i})" for i in range(1, n + 1)], center=True)
    counter = [0]
    for code, hs in _sections(houses, lambda h: h.commune.code):
        _members(out, cols, hs, st, style, "household", counter)
        _subtotal(out, f"Cộng phường {COMMUNES[code].bare}", hs, cols)
        out.blank()
    out.put({1: "Tổng cộng"}, merge=[(1, 3)], bold=True)
    _footer(out, "Cái Răng", "TM. ỦY BAN NHÂN DÂN QUẬN", n, "ngày 12 tháng 12 năm 2024",
            ("Lê Thị Mỹ Xuyên", "Trần Quốc Khởi"))
    _save(wb, folder / fname)
    return Layout(name, folder, {"id": "ct-cai-rang", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "919"},
                  _truth(houses, False, False, True, False), [out.truth()], _errors(houses),
                  "Old Cần Thơ, Cái Răng (919): four wards by bare name, 'Khu vực 1..4' hamlets (urban by the "
                  "ward, not by the word), codes HN-001/CN-001 restarting per ward (two pairs of wards merged "
                  "into one new ward), two-row merged headers, 12 marks without a count, no ethnicity column.")


def _l07(base: Path, rng: random.Random) -> Layout:
    """Phú Hữu: a roster made after 1 July 2025 by a new commune of today's Cần Thơ (unit_era: current)."""
    name = "L07_phu_huu_current_commune"
    folder = base / name
    style = _Style(groups=(0.85, 0.1, 0.05), relation="south", cmnd_share=0.1, year_only_old=0.3,
                   birth_province="093")
    year = 2026
    commune = COMMUNES["31378"]
    houses = _make(rng, commune, ["Ấp Phú Lợi", "Ấp Phú Xuân", "Ấp Phước Thạnh", "Ấp Đông Lợi"], 36, year, style,
                   lambda i, h: f"{i:03d}")
    _inject(rng, houses, ["format.birth_date", "cccd.province"], style)
    cols = [_Col("STT", "stt", width=5), _Col("Mã xã", "commune_code", width=7), _Col("Ấp", "hamlet", width=15),
            _Col("Mã hộ", "code", width=7), _Col("Họ và tên", "name", width=26), _Col("Quan hệ với chủ hộ", "rel"),
            _Col("Giới tính", "sex", width=8), _Col("Ngày sinh", "dob"), _Col("Dân tộc", "eth", width=8),
            _Col("Số định danh cá nhân", "id", width=15), _Col("Phân loại hộ", "category"),
            _Col("Năm rà soát", "year", width=8), _Col("TN BQ (đồng/người/tháng)", "income", width=14),
            _Col("Số chỉ số thiếu hụt", "count", width=9)]
    st = {"dob": "text", "id": "text", "sex": "word", "eth": "name", "khmer": "c", "category": "full"}
    n = len(cols)
    fname, sheet = "PhuHuu_danh_sach_ho_ngheo.xlsx", commune.new_name
    wb = _workbook()
    out = _Out(wb.create_sheet(sheet), fname, sheet)
    out.put({1: "UBND XÃ PHÚ HỮU", 9: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"}, merge=[(1, 5), (9, n)],
            bold=True, center=True)
    out.put({9: "Độc lập - Tự do - Hạnh phúc"}, merge=[(9, n)], bold=True, center=True)
    out.blank()
    out.put({1: f"DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}"}, merge=[(1, n)], bold=True, center=True)
    out.blank()
    _header(out, cols)
    counter = [0]
    for hamlet, hs in _sections(houses, lambda h: h.hamlet):
        _members(out, cols, hs, st, style, "household", counter)
        _subtotal(out, f"Cộng {hamlet[0].lower()}{hamlet[1:]}", hs, cols)
    out.put({1: "Tổng cộng"}, merge=[(1, 3)], bold=True)
    _footer(out, "Phú Hữu", "TM. UBND XÃ", n, "ngày 20 tháng 11 năm 2025", ("Châu Thị Mộng Cầm", "Lê Hoàng Em"))
    _save(wb, folder / fname)
    return Layout(name, folder, {"id": "ct-phu-huu", "kind": "spreadsheet", "path": f"{name}/",
                                 "unit_era": "current"},
                  _truth(houses, True, True, False, True), [out.truth()], _errors(houses),
                  "Today's Cần Thơ, new Xã Phú Hữu (31378, formed 1 July 2025): a current-era roster for 2026, "
                  "sheet named after the new commune, its code in a column, four hamlets with subtotals, "
                  "codes 001.., 'Số định danh cá nhân', CMND for some elders.")


def _l08(base: Path, rng: random.Random) -> Layout:
    """Vị Thanh: one workbook per ward, "Tổ" hamlets, codes 001.. restarting per ward, no deprivations."""
    name = "L08_vi_thanh_file_per_ward"
    folder = base / name
    style = _Style(groups=(0.9, 0.04, 0.06), relation="north", year_only_old=0.45, birth_province="093")
    year = 2025
    wards = {"31318": "phuong-I.xlsx", "31321": "phuong-III.xlsx", "31324": "phuong-IV.xlsx",
             "31327": "phuong-V.xlsx"}
    per_ward = {c: _make(rng, COMMUNES[c], [f"Tổ {t}" for t in sorted(rng.sample(range(1, 16), 3))], 9, year,
                         style, lambda i, h: f"{i:03d}") for c in wards}
    _inject(rng, per_ward["31321"], ["required.full_name"], style)
    _inject(rng, per_ward["31327"], ["age.relation"], style)
    cols = [_Col("STT", "stt", width=5), _Col("Mã xã", "commune_code", width=7), _Col("Tổ", "hamlet", width=7),
            _Col("Mã hộ", "code", width=7), _Col("Họ và tên", "name", width=26), _Col("Quan hệ với chủ hộ", "rel"),
            _Col("Giới tính", "sex", width=8), _Col("Ngày sinh", "dob"), _Col("Dân tộc", "eth", width=8),
            _Col("Số CCCD", "id", width=15), _Col("Số nhân khẩu", "nk", width=7), _Col("Phân loại hộ", "category"),
            _Col("Năm rà soát", "year", width=8), _Col("Thu nhập BQ (đồng/người/tháng)", "income", width=14)]
    st = {"dob": "text", "id": "mixed", "sex": "word", "eth": "name", "khmer": "b", "category": "full",
          "commune_code": "number"}
    n = len(cols)
    sheets = []
    for c, fname in wards.items():
        commune = COMMUNES[c]
        wb = _workbook()
        out = _Out(wb.create_sheet("Sheet1"), fname, "Sheet1")
        out.put({1: f"UBND {commune.name.upper()}"}, merge=[(1, 5)], bold=True)
        out.put({1: "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO"}, merge=[(1, n)], bold=True, center=True)
        out.blank()
        _header(out, cols)
        _members(out, cols, per_ward[c], st, style, "household", [0])
        out.put({1: "Tổng cộng", 11: sum(len(h.persons) for h in per_ward[c])}, merge=[(1, 3)], bold=True)
        _footer(out, "Vị Thanh", "TM. UBND PHƯỜNG", n, "ngày 05 tháng 12 năm 2024",
                ("Tô Thị Huyền Trang", "Ngô Văn Mười"))
        sheets.append(out.truth())
        _save(wb, folder / fname)
    houses = [h for c in wards for h in per_ward[c]]
    return Layout(name, folder, {"id": "hg-vi-thanh", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "930"},
                  _truth(houses, True, False, False, False), sheets, _errors(houses),
                  "Old Hậu Giang, Vị Thanh (930): one workbook per ward (sheet 'Sheet1'), commune code column, "
                  "'Tổ' hamlets, codes 001.. restarting in every ward (I and III become Phường Vị Thanh, IV "
                  "and V Phường Vị Tân), CCCDs half as numbers, Cha/Mẹ, no deprivation data.")


def _l09(base: Path, rng: random.Random) -> Layout:
    """Thốt Nốt: "Ấp/Khu vực", ethnicity as 2008 codes under "DT", decomposed names, one split ward."""
    name = "L09_thot_not_codes"
    folder = base / name
    style = _Style(groups=(0.8, 0.1, 0.1), relation="south", year_only_old=0.4, nfd_share=0.1,
                   birth_province="092")
    year = 2025
    hamlets = {"31213": ["Khu vực Tân Phước", "Khu vực Tân Mỹ"], "31228": ["Khu vực Thới Hòa 1", "Khu vực Lân Thạnh"],
               "31216": ["Khu vực Thạnh Phước", "Khu vực Trung Thạnh"],
               "31210": ["Khu vực Thới Thạnh", "Khu vực Thới Bình"]}
    houses: list[_H] = []
    for c in hamlets:
        houses += _make(rng, COMMUNES[c], hamlets[c], 10, year, style, lambda i, h: "")
    split = _household(rng, COMMUNES[SPLIT_COMMUNE], "Khu vực Phụng Thạnh 1", "", year, style)
    split.error = "unit.commune_split"
    houses.insert(len(houses) // 2 + 3, split)
    houses.sort(key=lambda h: list(hamlets).index(h.commune.code) if h.commune.code in hamlets else 1.5)
    for i, h in enumerate(houses, 1):
        h.local_code = f"TN-{i:03d}"
    _inject(rng, houses, ["household.head_count/none"], style)
    cols = [_Col("Số TT", "stt", width=5), _Col("Mã hộ", "code", width=8), _Col("Phường", "commune_name", width=12),
            _Col("Ấp/Khu vực", "hamlet", width=18), _Col("Họ và tên", "name", width=26), _Col("Quan hệ", "rel"),
            _Col("GT", "sex", width=6), _Col("Ngày sinh", "dob"), _Col("DT", "eth", width=5),
            _Col("Số CCCD", "id", width=15), _Col("Phân loại hộ", "category"), _Col("Năm", "year", width=7),
            _Col("TNBQ", "income", width=12), _Col("Số chỉ số thiếu hụt", "count", width=9)]
    st = {"dob": "date", "id": "text", "sex": "word", "eth": "code", "category": "full", "commune": "bare"}
    n = len(cols)
    fname, sheet = "ThotNot_tong_hop.xlsx", "Tổng hợp"
    wb = _workbook()
    out = _Out(wb.create_sheet(sheet), fname, sheet)
    out.put({1: "UBND QUẬN THỐT NỐT"}, merge=[(1, 5)], bold=True)
    out.put({1: "TỔNG HỢP HỘ NGHÈO, HỘ CẬN NGHÈO"}, merge=[(1, n)], bold=True, center=True)
    out.blank()
    _header(out, cols)
    _members(out, cols, houses, st, style, "member", [0])
    _footer(out, "Thốt Nốt", "TM. ỦY BAN NHÂN DÂN QUẬN", n, "ngày 16 tháng 12 năm 2024",
            ("Dương Thị Thu Ba", "Phan Thanh Sơn"))
    _save(wb, folder / fname)
    return Layout(name, folder, {"id": "ct-thot-not", "kind": "spreadsheet", "path": f"{name}/",
                                 "district_code": "923"},
                  _truth(houses, True, True, False, False), [out.truth()], _errors(houses),
                  "Old Cần Thơ, Thốt Nốt (923): one sheet, wards by bare name, 'Ấp/Khu vực' hamlets, ethnicity "
                  "as 2008 codes under 'DT', names partly typed decomposed (NFD), codes TN-001.., one household "
                  "of the split Phường Thốt Nốt (held for a person), one household with no head.")


_BUILDERS = [_l01, _l02, _l03, _l04, _l05, _l06, _l07, _l08, _l09]
LAYOUT_NAMES = ["L01_thoi_lai_commune_sheets", "L02_vinh_chau_one_sheet", "L03_my_tu_legacy_csv",
                "L04_ke_sach_year_in_filename", "L05_long_my_year_in_sheet", "L06_cai_rang_khu_vuc",
                "L07_phu_huu_current_commune", "L08_vi_thanh_file_per_ward", "L09_thot_not_codes"]


def build(base: Path, names: list[str] | None = None) -> list[Layout]:
    """Write every layout (or those named) under base/<layout name>/; return their truth.

    Every layout is generated in the same order whatever is asked, so a layout's data does not depend
    on which others are written.
    """
    base = Path(base)
    _IDS_USED.clear()
    layouts = []
    with _scratch() as scratch:
        for builder, lname in zip(_BUILDERS, LAYOUT_NAMES):
            rng = random.Random(f"{SEED}/{lname}")
            wanted = names is None or lname in names
            layout = builder(base if wanted else scratch, rng)
            assert layout.name == lname
            if wanted:
                layouts.append(layout)
    return layouts


class _scratch:
    """A throw-away folder for layouts generated but not asked for."""

    def __enter__(self) -> Path:
        import tempfile

        self.path = Path(tempfile.mkdtemp(prefix="district-corpus-"))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def write_config(base: Path, layouts: list[Layout], name: str = "misgw.yaml") -> Path:
    """One misgw.yaml for all the layouts: today's Cần Thơ (92), one source per layout."""
    path = Path(base) / name
    body = {"province_code": PROVINCE_CODE, "output_dir": "out", "sources": [dict(layout.source) for layout in layouts]}
    path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def year_conflict_source(base: Path, layout: Layout) -> tuple[Path, str, str]:
    """The year-in-title layout copied to base/<name>_year_conflict/, its first workbook renamed so that its
    file name says 2024 while its title says 2025. Returns (folder, renamed file, untouched file)."""
    files = sorted({m.file for h in layout.households for m in h.members})
    assert len(files) == 2, files
    folder = Path(base) / f"{layout.name}_year_conflict"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    conflict = "ds-ho-ngheo-2024-" + files[0]
    shutil.copy(layout.folder / files[0], folder / conflict)
    shutil.copy(layout.folder / files[1], folder / files[1])
    return folder, conflict, files[1]
