"""Generates a synthetic Cần Thơ demo province (three district workbooks, misgw.yaml, truth.csv) for trying the gateway."""
from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from mappings.text import fold
from mappings.vocabulary import vocabulary

PROVINCE_CODE = "92"
ASSESSMENT_YEAR = 2025
# Decree 07/2021/NĐ-CP income lines, VND per person per month (2022-2025).
INCOME_LINE = {"rural": 1_500_000, "urban": 2_000_000}
INDICATORS = ["d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water_source", "d_latrine",
              "d_telecom", "d_information_access"]
# How often each deprivation shows up among poor Mekong households (relative weights, not statistics).
_INDICATOR_WEIGHT = {"d_employment": 1.2, "d_dependants": 1.0, "d_nutrition": 0.6, "d_health_insurance": 0.4,
                     "d_adult_education": 1.0, "d_child_school": 0.6, "d_housing_quality": 1.2,
                     "d_floor_area": 0.9, "d_water_source": 1.0, "d_latrine": 1.3, "d_telecom": 0.4,
                     "d_information_access": 0.8}
ERROR_RATE = 0.015
RULES = ["required.full_name", "codelist.sex", "codelist.relation", "format.birth_date", "range.birth_date",
         "format.id_number", "cccd.birth_year", "codelist.ethnicity"]
TRUTH_COLUMNS = ["file", "sheet", "row", "household_code", "field", "rule", "description"]

# ---------------------------------------------------------------------------------------------
# Names. Southern Vietnamese usage; Khmer and Hoa households have their own family names.
_FAMILY_KINH = ["Nguyễn"] * 8 + ["Trần"] * 4 + ["Lê"] * 3 + ["Phạm"] * 2 + ["Huỳnh"] * 3 + ["Võ"] * 3 + \
    ["Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Phan", "Trương", "Lý", "Châu", "Đoàn", "Lâm"]
_FAMILY_KHMER = ["Thạch", "Sơn", "Kim", "Danh", "Lâm"]
_FAMILY_HOA = ["Lâm", "Quách", "Trương", "Lý", "Hứa", "Tăng", "Mã", "Diệp"]
_MALE_GIVEN = ["An", "Bình", "Cường", "Dũng", "Hùng", "Hải", "Phúc", "Tài", "Thành", "Tuấn", "Minh", "Long",
               "Sơn", "Khang", "Nam", "Lộc", "Trí", "Tâm", "Hiếu", "Phước", "Thắng", "Út", "Hậu", "Nghĩa",
               "Quang", "Toàn", "Thuận", "Vinh", "Khánh", "Đạt", "Hòa", "Thiện", "Lợi", "Sang", "Tính", "Em",
               "Bảo", "Huy", "Khoa", "Duy", "Nhân", "Tú"]
_FEMALE_GIVEN = ["Lan", "Hoa", "Hồng", "Mai", "Thảo", "Trang", "Ngọc", "Hạnh", "Diễm", "Loan", "Nhung",
                 "Tuyết", "Hương", "Thu", "Bé", "Út", "Yến", "Nga", "Phượng", "Lệ", "Dung", "Hằng", "Thúy",
                 "Xuân", "Cúc", "Liên", "Nhi", "Vy", "Trinh", "Tiên", "Quyên", "Oanh", "Hiền", "My", "Như",
                 "Châu", "Em", "Kiều", "Anh", "Linh"]
_MALE_MIDDLE = ["Minh", "Hoàng", "Thanh", "Quốc", "Hữu", "Công", "Trọng", "Phước", "Tấn", "Chí"]
_FEMALE_MIDDLE = ["Ngọc", "Thanh", "Kim", "Mỹ", "Thúy", "Hồng", "Bích", "Cẩm", "Thu", "Diễm"]
_KHMER_MALE = ["Sóc", "Sang", "Chanh", "Phanh", "Sô Phal", "Khol", "Sà Rinh", "Thươl", "Rươne", "Pho",
               "Sóc Khum", "Chanh Đa", "Sa Vên", "Mônh", "Sa Rươn"]
_KHMER_FEMALE = ["Sa Ri", "Sà Phiêu", "Srây Mom", "Sa Rát", "Thi Đa", "Sà Rương", "Chanh Thy", "Sô Phia",
                 "Sóc Pha", "Sa Quel", "Ri Ta", "Sà Ny", "Mây", "Sô Kha"]
_HOA_MALE_MIDDLE = ["Chấn", "Vĩnh", "Gia", "Kiến", "Vạn"]
_HOA_FEMALE_MIDDLE = ["Mỹ", "Ngọc", "Tú", "Bội", "Huệ"]

_PROVINCE_OF_BIRTH = ["092"] * 40 + ["093"] * 3 + ["094"] * 3 + ["086"] * 2 + ["089", "091", "087", "079", "001"]
_PROVINCE_OF_BIRTH_KHMER = ["092"] * 6 + ["094"] * 3 + ["093", "084"]

_AP_PHONG_DIEN = ["Nhơn Lộc 1", "Nhơn Lộc 2", "Nhơn Thọ 1", "Nhơn Thọ 2", "Nhơn Phú", "Nhơn Bình", "Thị Tứ",
                  "Tân Lợi", "Tân Hòa", "Tân Bình", "Tân Long", "Thới Hòa", "Thới Xuân", "Phước Lợi",
                  "Mỹ Phụng", "Mỹ Ái", "Trường Thọ", "Trường Hòa", "Trường Khương A", "Trường Khương B"]
_AP_CO_DO = ["Thới Trung", "Thới Phong", "Thới Hòa", "Thới Thuận", "Thạnh Lộc", "Thạnh Phước 1",
             "Thạnh Phước 2", "Trung Hưng 1", "Trung Hưng 2", "Trung Thành", "Trung Phú", "Đông Thắng",
             "Đông Hòa", "Phú Lợi", "Long Châu", "Thạnh Hòa", "Thạnh Quới", "Trung Hòa"]
_FOOTER_NAMES = ["Nguyễn Thị Mỹ Linh", "Trần Văn Khoa", "Lê Thị Ngọc Hân", "Huỳnh Thanh Tùng", "Võ Thị Kim Ngân"]

# ---------------------------------------------------------------------------------------------
# How each district writes its roster. Header wordings are vocabulary.yaml aliases (checked at run time).


@dataclass(frozen=True)
class DistrictStyle:
    slug: str
    district_code: str
    district_name: str            # as written in titles
    file_name: str
    titles: tuple[str, ...]       # rows above the header; "{commune}" is the commune's name in capitals
    blank_after_titles: bool
    one_sheet: bool               # one "Danh sách" sheet with a commune-code column, else a sheet per commune
    household_on_every_row: bool  # household-level cells repeated on member rows, else on the head's row only
    stt_per_member: bool
    columns: tuple[tuple[str, str], ...]   # (field, header)
    sex: dict
    relation: dict
    ethnicity: dict
    category: dict
    mark: str
    date_forms: dict              # share of text / Excel date cells among full dates
    numeric_id_share: float
    capital_names: bool = False


_PHONG_DIEN = DistrictStyle(
    slug="phong-dien", district_code="926", district_name="Phong Điền",
    file_name="DS_ho_ngheo_Phong_Dien_2025.xlsx",
    titles=("UBND HUYỆN PHONG ĐIỀN", "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025", "{commune}"),
    blank_after_titles=True, one_sheet=False, household_on_every_row=True, stt_per_member=True,
    columns=(("row_number", "STT"), ("household_code", "Mã hộ"), ("full_name", "Họ và tên"),
             ("relation", "Quan hệ với chủ hộ"), ("sex", "Giới tính"), ("birth_date", "Ngày sinh"),
             ("ethnicity", "Dân tộc"), ("id_number", "Số CCCD"), ("hamlet", "Ấp"), ("area", "Khu vực"),
             ("poverty_category", "Phân loại hộ"), ("assessment_year", "Năm rà soát"),
             ("income_per_capita", "Thu nhập bình quân (đồng/người/tháng)"),
             ("d_employment", "Việc làm"), ("d_dependants", "Người phụ thuộc"), ("d_nutrition", "Dinh dưỡng"),
             ("d_health_insurance", "Bảo hiểm y tế"), ("d_adult_education", "Trình độ giáo dục của người lớn"),
             ("d_child_school", "Tình trạng đi học của trẻ em"), ("d_housing_quality", "Chất lượng nhà ở"),
             ("d_floor_area", "Diện tích nhà ở bình quân đầu người"), ("d_water_source", "Nguồn nước sinh hoạt"),
             ("d_latrine", "Nhà tiêu hợp vệ sinh"), ("d_telecom", "Sử dụng dịch vụ viễn thông"),
             ("d_information_access", "Phương tiện phục vụ tiếp cận thông tin"),
             ("member_count", "Số nhân khẩu"), ("approval_decision_no", "Số quyết định"),
             ("approval_date", "Ngày quyết định")),
    sex={"M": "Nam", "F": "Nữ"},
    relation={"head": "Chủ hộ", "wife": "Vợ", "husband": "Chồng", "child": "Con", "father": "Bố",
              "mother": "Mẹ", "grandchild": "Cháu"},
    ethnicity={"kinh": "Kinh", "khmer": "Khơ me", "hoa": "Hoa"},
    category={"poor": "Hộ nghèo", "near_poor": "Hộ cận nghèo"},
    mark="x", date_forms={"text": 0.4, "date": 0.6}, numeric_id_share=0.10,
)

_CO_DO = DistrictStyle(
    slug="co-do", district_code="925", district_name="Cờ Đỏ",
    file_name="CoDo_HN_HCN_2025.xlsx",
    titles=("UBND HUYỆN CỜ ĐỎ", "DANH SÁCH HỘ NGHÈO, CẬN NGHÈO NĂM 2025 - {commune}"),
    blank_after_titles=False, one_sheet=False, household_on_every_row=False, stt_per_member=False,
    columns=(("row_number", "STT"), ("household_code", "Mã HGĐ"), ("full_name", "Họ tên"),
             ("relation", "QH với CH"), ("sex", "Nam/Nữ"), ("birth_date", "Ngày tháng năm sinh"),
             ("ethnicity", "Dân tộc"), ("id_number", "CCCD/CMND"), ("hamlet", "Thôn/ấp"),
             ("area", "Nông thôn/Thành thị"), ("poverty_category", "Loại hộ"), ("assessment_year", "Năm"),
             ("income_per_capita", "TNBQ"),
             ("d_employment", "Thiếu hụt việc làm"), ("d_dependants", "Thiếu hụt người phụ thuộc"),
             ("d_nutrition", "Thiếu hụt dinh dưỡng"), ("d_health_insurance", "Thiếu hụt BHYT"),
             ("d_adult_education", "Giáo dục người lớn"), ("d_child_school", "Trẻ em đi học"),
             ("d_housing_quality", "Nhà ở"), ("d_floor_area", "Diện tích nhà ở"),
             ("d_water_source", "Nước sinh hoạt"), ("d_latrine", "Nhà tiêu"),
             ("d_telecom", "Dịch vụ viễn thông"), ("d_information_access", "Tiếp cận thông tin"),
             ("member_count", "Số khẩu")),
    sex={"M": "nam", "F": "nữ"},
    relation={"head": "Chủ hộ", "wife": "Vợ", "husband": "Chồng", "child": "Con", "father": "Cha",
              "mother": "Mẹ", "grandchild": "Cháu"},
    ethnicity={"kinh": "kinh", "khmer": "Khmer", "hoa": "Hoa"},
    category={"poor": "Nghèo", "near_poor": "Cận nghèo"},
    mark="x", date_forms={"text": 0.85, "date": 0.15}, numeric_id_share=0.15, capital_names=True,
)

_NINH_KIEU = DistrictStyle(
    slug="ninh-kieu", district_code="916", district_name="Ninh Kiều",
    file_name="Ninh Kieu - danh sach ho ngheo 2025.xlsx",
    titles=("DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO QUẬN NINH KIỀU NĂM 2025",),
    blank_after_titles=True, one_sheet=True, household_on_every_row=True, stt_per_member=True,
    columns=(("row_number", "STT"), ("commune_code", "Mã xã"), ("household_code", "Mã hộ gia đình"),
             ("full_name", "Họ và tên thành viên"), ("relation", "Quan hệ chủ hộ"), ("sex", "GT"),
             ("birth_date", "Ngày/tháng/năm sinh"), ("ethnicity", "Dân tộc"),
             ("id_number", "Số định danh cá nhân"), ("address", "Địa chỉ"), ("area", "Thành thị/Nông thôn"),
             ("poverty_category", "Phân loại"), ("assessment_year", "Năm đánh giá"),
             ("income_per_capita", "Thu nhập BQ đầu người/tháng"),
             ("d_employment", "Việc làm"), ("d_dependants", "Người phụ thuộc trong hộ"),
             ("d_nutrition", "Dinh dưỡng"), ("d_health_insurance", "BHYT"),
             ("d_adult_education", "Trình độ giáo dục"), ("d_child_school", "Đi học của trẻ em"),
             ("d_housing_quality", "Chất lượng nhà ở"), ("d_floor_area", "Diện tích nhà ở BQ"),
             ("d_water_source", "Nguồn nước"), ("d_latrine", "Hố xí hợp vệ sinh"),
             ("d_telecom", "Viễn thông"), ("d_information_access", "Phương tiện tiếp cận thông tin"),
             ("member_count", "Số người trong hộ"), ("approval_decision_no", "Số QĐ"),
             ("approval_date", "Ngày QĐ")),
    sex={"M": "NAM", "F": "NỮ"},
    relation={"head": "Chủ hộ", "wife": "Vợ", "husband": "Chồng", "child": "Con", "father": "Bố",
              "mother": "Mẹ", "grandchild": "Cháu"},
    ethnicity={"kinh": "Kinh", "khmer": "Khơ-me", "hoa": "Hoa"},
    category={"poor": "Hộ nghèo", "near_poor": "Hộ cận nghèo"},
    mark="X", date_forms={"text": 0.5, "date": 0.5}, numeric_id_share=0.05,
)

DISTRICTS = (_PHONG_DIEN, _CO_DO, _NINH_KIEU)

# Bad values, one kind per rule.
_BAD_SEX = ["Không rõ", "?", "Chưa rõ", "K.rõ"]
_BAD_RELATION = ["Hàng xóm", "???", "Bạn", "Người quen"]
_BAD_ETHNICITY = ["Không xác định", "Chưa xác định", "KXĐ", "Không rõ"]


# ---------------------------------------------------------------------------------------------
@dataclass
class Person:
    role: str                 # head, wife, husband, child, father, mother, grandchild
    sex: str                  # M | F
    birth: dt.date
    name: str
    ethnicity: str            # kinh | khmer | hoa
    date_form: str = "text"   # text | date | year
    id_number: str | None = None
    id_kind: str | None = None    # cccd | cmnd | None
    id_numeric: bool = False


@dataclass
class Household:
    code: str
    commune_code: str
    commune_name: str
    address: str
    area: str                 # rural | urban
    category: str             # poor | near_poor
    income: int
    marks: set
    members: list = field(default_factory=list)
    decision_no: str | None = None
    decision_date: dt.date | None = None


def generate(out_dir: Path, pre2025_csv: Path, seed: int = 2025, households_per_commune: int = 120) -> Path:
    """Write the demo province into out_dir and return the path of its misgw.yaml."""
    from mappings.admin_units import read_pre2025

    out_dir = Path(out_dir)
    _check_headers()
    communes = read_pre2025(Path(pre2025_csv))["commune_pre2025"]
    truth: list[dict] = []
    used_ids: set[str] = set()
    for style in DISTRICTS:
        units = communes[communes["district_code"].astype(str).str.zfill(3) == style.district_code]
        units = units.assign(commune_code=units["commune_code"].astype(str).str.zfill(5))
        units = units.sort_values("commune_code").head(4)
        if len(units) < 4:
            raise ValueError(f"{pre2025_csv}: district {style.district_code} has fewer than 4 communes.")
        rng = random.Random(f"{seed}:{style.slug}")
        households = []
        for unit in units.itertuples(index=False):
            households.append((unit, _commune_households(rng, style, unit, households_per_commune, used_ids)))
        folder = out_dir / "districts" / style.slug
        folder.mkdir(parents=True, exist_ok=True)
        truth.extend(_write_workbook(rng, style, households, folder / style.file_name, used_ids))
    _write_truth(out_dir / "truth.csv", truth)
    return _write_config(out_dir)


# ---------------------------------------------------------------------------------------------
# Households and people


def _commune_households(rng: random.Random, style: DistrictStyle, unit, count: int, used_ids: set) -> list:
    area = "rural" if fold(unit.name).startswith("xa") else "urban"   # phường and thị trấn are urban areas
    if style.district_code == "916":
        places = [f"Khu vực {i}" for i in range(1, rng.randint(5, 9))]
    else:
        pool = _AP_PHONG_DIEN if style.district_code == "926" else _AP_CO_DO
        places = [f"Ấp {n}" for n in sorted(rng.sample(pool, rng.randint(4, 6)))]
    decision_no = f"{rng.randint(1200, 3400)}/QĐ-UBND"
    decision_date = dt.date(2025, 12, rng.randint(8, 26))
    drafts = sorted(((rng.randrange(len(places)), i) for i in range(count)))
    serial = 0
    result = []
    for place_index, _ in drafts:
        serial += rng.choice([1, 1, 1, 1, 2, 3])
        code = f"{unit.commune_code}-{serial:04d}"
        hh = Household(code=code, commune_code=unit.commune_code, commune_name=unit.name,
                       address=places[place_index], area=area, category="", income=0, marks=set(),
                       decision_no=decision_no, decision_date=decision_date)
        hh.members = _members(rng, style)
        _classify(rng, hh)
        for p in hh.members:
            _assign_id(rng, style, p, used_ids)
        result.append(hh)
    return result


def _members(rng: random.Random, style: DistrictStyle) -> list[Person]:
    size = rng.choices([1, 2, 3, 4, 5, 6, 7], weights=[9, 17, 22, 24, 15, 8, 5])[0]
    r = rng.random()
    ethnicity = "khmer" if r < 0.07 else "hoa" if r < 0.10 else "kinh"
    head_year = rng.randint(1938, 1972) if size == 1 else rng.randint(1940, 2000)
    head_sex = "M" if rng.random() < 0.68 else "F"
    people = [Person("head", head_sex, _day(rng, head_year), "", ethnicity)]
    slots = size - 1
    if slots and rng.random() < 0.8 and head_year <= 2003:
        year = min(2005, max(1935, head_year + rng.randint(-6, 6)))
        role = "wife" if head_sex == "M" else "husband"
        people.append(Person(role, "F" if head_sex == "M" else "M", _day(rng, year), "", ethnicity
                             if rng.random() < 0.9 else "kinh"))
        slots -= 1
    if slots and head_year >= 1950 and rng.random() < 0.18:
        year = max(1930, head_year - rng.randint(20, 38))
        sex = rng.choice("MF")
        people.append(Person("father" if sex == "M" else "mother", sex, _day(rng, year), "", ethnicity))
        slots -= 1
    # Children are at least 18 years younger than both parents, grandchildren 38 years.
    parents_year = max(p.birth.year for p in people if p.role in ("head", "wife", "husband"))
    grand = slots >= 2 and parents_year <= 1975 and rng.random() < 0.35
    children = slots - (rng.randint(1, min(2, slots - 1)) if grand else 0)
    for _ in range(children):
        year = min(2024, parents_year + rng.randint(18, 40))
        people.append(Person("child", rng.choice("MF"), _day(rng, year), "", ethnicity))
    for _ in range(slots - children):
        year = min(2024, parents_year + rng.randint(38, 62))
        people.append(Person("grandchild", rng.choice("MF"), _day(rng, year), "", ethnicity))
    _name_household(rng, people)
    for p in people:
        old = p.birth.year <= 1965
        if old and rng.random() < 0.15:
            p.date_form = "year"
        else:
            p.date_form = "text" if rng.random() < style.date_forms["text"] else "date"
    return people


def _day(rng: random.Random, year: int) -> dt.date:
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def _name_household(rng: random.Random, people: list[Person]) -> None:
    head = people[0]
    family = _family(rng, head.ethnicity)
    husband = next((p for p in people if p.role == "husband"), None)
    # Children carry their father's family name; a woman heading the household alone was often widowed.
    if head.sex == "M":
        father_family = family
    elif husband is not None:
        father_family = _family(rng, husband.ethnicity)
    else:
        father_family = family if rng.random() < 0.3 else _family(rng, head.ethnicity)
    used: set[str] = set()
    for p in people:
        if p.role in ("head", "father"):
            fam = family
        elif p.role in ("husband", "child", "grandchild"):
            fam = father_family
        else:
            fam = _family(rng, p.ethnicity)
        for _ in range(20):
            name = _full_name(rng, fam, p.sex, p.ethnicity, p.birth.year)
            if name not in used:
                break
        used.add(name)
        p.name = name


def _family(rng: random.Random, ethnicity: str) -> str:
    return rng.choice({"kinh": _FAMILY_KINH, "khmer": _FAMILY_KHMER, "hoa": _FAMILY_HOA}[ethnicity])


def _full_name(rng: random.Random, family: str, sex: str, ethnicity: str, year: int) -> str:
    if ethnicity == "khmer":
        given = rng.choice(_KHMER_MALE if sex == "M" else _KHMER_FEMALE)
        middle = "Thị" if sex == "F" and rng.random() < 0.6 else ("Văn" if rng.random() < 0.2 else "")
        return " ".join(w for w in (family, middle, given) if w)
    if ethnicity == "hoa":
        middle = rng.choice(_HOA_MALE_MIDDLE if sex == "M" else _HOA_FEMALE_MIDDLE)
        given = rng.choice(_MALE_GIVEN if sex == "M" else _FEMALE_GIVEN)
        return f"{family} {middle} {given}"
    classic = 0.75 if year < 1990 else 0.35
    if sex == "M":
        middle = "Văn" if rng.random() < classic else rng.choice(_MALE_MIDDLE)
        given = rng.choice(_MALE_GIVEN)
    else:
        middle = "Thị" if rng.random() < classic else rng.choice(_FEMALE_MIDDLE)
        if middle == "Thị" and rng.random() < 0.25:
            middle = f"Thị {rng.choice(_FEMALE_MIDDLE)}"
        given = rng.choice(_FEMALE_GIVEN)
    return f"{family} {middle} {given}"


def _age(p: Person) -> int:
    return ASSESSMENT_YEAR - p.birth.year


def _classify(rng: random.Random, hh: Household) -> None:
    """Category, income and deprivation marks that agree with Decree 07/2021."""
    line = INCOME_LINE[hh.area]
    hh.category = "poor" if rng.random() < 0.6 else "near_poor"
    if rng.random() < 0.05:
        hh.income = line                       # exactly at the line: still poor or near-poor
    else:
        hh.income = int(round(line * rng.uniform(0.40, 1.0), -3))
    ages = [_age(p) for p in hh.members]
    allowed = [i for i in INDICATORS
               if not (i == "d_child_school" and not any(5 <= a <= 15 for a in ages))
               and not (i == "d_dependants" and not any(a < 16 or a >= 60 for a in ages))]
    if hh.category == "poor":
        k = min(len(allowed), rng.choice([3, 3, 3, 4, 4, 4, 5, 5, 6, 7]))
    else:
        k = rng.choice([0, 1, 1, 2, 2, 2])
    hh.marks = set(_weighted_sample(rng, allowed, k))


def _weighted_sample(rng: random.Random, items: list[str], k: int) -> list[str]:
    items = list(items)
    chosen = []
    for _ in range(k):
        pick = rng.choices(items, weights=[_INDICATOR_WEIGHT[i] for i in items])[0]
        items.remove(pick)
        chosen.append(pick)
    return chosen


def _cccd(rng: random.Random, p: Person, used: set) -> str:
    pool = _PROVINCE_OF_BIRTH_KHMER if p.ethnicity == "khmer" else _PROVINCE_OF_BIRTH
    province = rng.choice(pool)
    century = (p.birth.year // 100) - 19            # 0 for 1900s, 1 for 2000s
    digit4 = 2 * century + (0 if p.sex == "M" else 1)
    while True:
        number = f"{province}{digit4}{p.birth.year % 100:02d}{rng.randrange(10**6):06d}"
        if number not in used:
            used.add(number)
            return number


def _assign_id(rng: random.Random, style: DistrictStyle, p: Person, used: set) -> None:
    age = _age(p)
    if age < 14 and rng.random() < 0.6:
        return
    if age > 50 and rng.random() < 0.03:
        while True:
            number = f"36{rng.randrange(10**7):07d}"     # old Cần Thơ CMND
            if number not in used:
                used.add(number)
                break
        p.id_number, p.id_kind = number, "cmnd"
        return
    p.id_number, p.id_kind = _cccd(rng, p, used), "cccd"
    # Typed into a number cell: only the leading zero is lost (11 digits); "00x" provinces would lose two.
    p.id_numeric = p.id_number[1] != "0" and rng.random() < style.numeric_id_share


# ---------------------------------------------------------------------------------------------
# Workbook


def _check_headers() -> None:
    vocab = vocabulary()
    for style in DISTRICTS:
        for name, header in style.columns:
            aliases = {fold(a) for a in vocab[name]["aliases"]}
            if fold(header) not in aliases:
                raise ValueError(f"demo header '{header}' is not a vocabulary alias of '{name}'.")


def _birth_cell(p: Person):
    if p.date_form == "year":
        return p.birth.year
    if p.date_form == "date":
        return p.birth
    return p.birth.strftime("%d/%m/%Y")


def _rows(style: DistrictStyle, hh: Household, stt: int) -> list[dict]:
    rows = []
    for i, p in enumerate(hh.members):
        name = p.name.upper() if style.capital_names else p.name
        row = {"household_code": hh.code, "full_name": name, "relation": style.relation[p.role],
               "sex": style.sex[p.sex], "birth_date": _birth_cell(p), "ethnicity": style.ethnicity[p.ethnicity],
               "id_number": (int(p.id_number) if p.id_numeric else p.id_number) if p.id_number else None,
               "commune_code": hh.commune_code}
        if style.stt_per_member:
            row["row_number"] = stt + i
        elif i == 0:
            row["row_number"] = stt
        if i == 0 or style.household_on_every_row:
            row.update({
                "address": hh.address, "hamlet": hh.address,
                "area": "Thành thị" if hh.area == "urban" else "Nông thôn",
                "poverty_category": style.category[hh.category], "assessment_year": ASSESSMENT_YEAR,
                "income_per_capita": hh.income, "member_count": len(hh.members),
                "approval_decision_no": hh.decision_no, "approval_date": hh.decision_date,
            })
            for ind in INDICATORS:
                row[ind] = style.mark if ind in hh.marks else None
        rows.append(row)
    return rows


def _inject(rng: random.Random, style: DistrictStyle, entries: list, used_ids: set) -> list[dict]:
    """Put one error into ~1.5% of the member rows; returns the truth records (without file and row)."""
    n = max(len(RULES), round(ERROR_RATE * len(entries)))
    order = []
    while len(order) < n:
        batch = RULES[:]
        rng.shuffle(batch)
        order.extend(batch)
    order = order[:n]
    taken: set[int] = set()
    truth = []
    for rule in order:
        eligible = [i for i, (p, hh, row) in enumerate(entries) if i not in taken and _eligible(rule, p)]
        i = rng.choice(eligible)
        taken.add(i)
        p, hh, row = entries[i]
        fld, desc = _corrupt(rng, rule, p, row, used_ids)
        truth.append({"index": i, "household_code": hh.code, "field": fld, "rule": rule, "description": desc})
    return truth


def _eligible(rule: str, p: Person) -> bool:
    if rule == "codelist.relation":
        return p.role != "head"
    if rule == "range.birth_date":
        # No CCCD on the row, so the future date is the only thing wrong with it.
        return p.role != "head" and p.id_kind != "cccd"
    if rule == "format.id_number":
        return p.id_kind == "cccd"
    if rule == "cccd.birth_year":
        return p.id_kind == "cccd" and p.date_form != "year"
    return True


def _corrupt(rng: random.Random, rule: str, p: Person, row: dict, used_ids: set) -> tuple[str, str]:
    if rule == "required.full_name":
        row["full_name"] = None
        return "full_name", "full name left blank"
    if rule == "codelist.sex":
        row["sex"] = rng.choice(_BAD_SEX)
        return "sex", f"sex written as '{row['sex']}' (not Nam/Nữ)"
    if rule == "codelist.relation":
        row["relation"] = rng.choice(_BAD_RELATION)
        return "relation", f"relation to head written as '{row['relation']}' (not in the code list)"
    if rule == "format.birth_date":
        y = p.birth.year
        row["birth_date"] = rng.choice([f"31/02/{y}", f"30/02/{y}", f"15/13/{y}", f"32/0{rng.randint(1, 9)}/{y}",
                                        f"00/{p.birth.month:02d}/{y}", "abc"])
        return "birth_date", f"impossible birth date '{row['birth_date']}'"
    if rule == "range.birth_date":
        y = p.birth.year
        swapped = int(f"{y // 100}{y % 10}{(y // 10) % 10}")     # a typo: 2013 -> 2031
        year = next(c for c in (swapped, y + 10, y + 20, y + 100) if c >= 2030)
        day = p.birth.replace(year=year) if not (p.birth.month == 2 and p.birth.day == 29) else dt.date(year, 2, 28)
        row["birth_date"] = day.strftime("%d/%m/%Y")
        return "birth_date", f"birth date '{row['birth_date']}' is in the future"
    if rule == "format.id_number":
        good = p.id_number
        if rng.random() < 0.5:
            pos = rng.randrange(6, 12)
            bad = good[:pos] + rng.choice("ABOIl") + good[pos + 1:]
        else:
            bad = good[:10]
        row["id_number"] = bad
        return "id_number", f"ID number '{bad}' is neither 12 digits (CCCD) nor 9 (CMND)"
    if rule == "cccd.birth_year":
        good = p.id_number
        yy = int(good[4:6])
        while True:
            wrong = (yy + rng.choice([1, 2, 3, 5, 10, 11, 89, 90, 99])) % 100
            bad = f"{good[:4]}{wrong:02d}{good[6:]}"
            if bad not in used_ids:
                used_ids.add(bad)
                break
        row["id_number"] = bad
        if p.date_form == "year":
            row["birth_date"] = p.birth.strftime("%d/%m/%Y")
        return "id_number", f"CCCD '{bad}' digits 5-6 '{wrong:02d}' disagree with birth year {p.birth.year}"
    if rule == "codelist.ethnicity":
        row["ethnicity"] = rng.choice(_BAD_ETHNICITY)
        return "ethnicity", f"ethnicity written as '{row['ethnicity']}' (not one of the 54 groups)"
    raise ValueError(rule)


def _write_workbook(rng: random.Random, style: DistrictStyle, communes: list, path: Path, used_ids: set) -> list[dict]:
    wb = Workbook()
    wb.remove(wb.active)
    truth: list[dict] = []
    if style.one_sheet:
        _guide_sheet(wb)
        sheets = [("Danh sách", "", [hh for _, hhs in communes for hh in hhs])]
    else:
        sheets = [(unit.name[:31], unit.name, hhs) for unit, hhs in communes]
    for sheet_name, commune_name, households in sheets:
        ws = wb.create_sheet(sheet_name)
        entries = []
        stt = 1
        for hh in households:
            rows = _rows(style, hh, stt)
            stt += len(rows) if style.stt_per_member else 1
            entries.extend((p, hh, row) for p, row in zip(hh.members, rows))
        sheet_truth = _inject(rng, style, entries, used_ids)
        first_data = _write_sheet(ws, style, commune_name, [row for _, _, row in entries])
        for t in sorted(sheet_truth, key=lambda t: t["index"]):
            truth.append({"file": path.name, "sheet": sheet_name, "row": first_data + t.pop("index"), **t})
    wb.save(path)
    return truth


def _write_sheet(ws, style: DistrictStyle, commune_name: str, rows: list[dict]) -> int:
    """Titles, header, data and footer; returns the Excel row of the first data row."""
    width = len(style.columns)
    r = 1
    for title in style.titles:
        ws.cell(r, 1, title.replace("{commune}", commune_name.upper()))
        ws.cell(r, 1).font = Font(bold=True, size=12 if r > 1 else 11)
        if r == 1 and len(style.titles) > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=5)
        else:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=min(width, 14))
            ws.cell(r, 1).alignment = Alignment(horizontal="center")
        r += 1
    if len(style.titles) > 1:
        ws.cell(1, 10, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").font = Font(bold=True)
    if style.blank_after_titles:
        r += 1
    header_row = r
    for c, (_, header) in enumerate(style.columns, start=1):
        cell = ws.cell(header_row, c, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    ws.row_dimensions[header_row].height = 45
    ws.freeze_panes = ws.cell(header_row + 1, 4)
    r = header_row + 1
    for row in rows:
        for c, (name, _) in enumerate(style.columns, start=1):
            value = row.get(name)
            if value is None:
                continue
            cell = ws.cell(r, c, value)
            if isinstance(value, dt.date):
                cell.number_format = "dd/mm/yyyy"
            elif name == "income_per_capita":
                cell.number_format = "#,##0"
            elif name == "id_number" and isinstance(value, int):
                cell.number_format = "0"
            elif name in ("id_number", "commune_code"):
                cell.number_format = "@"
        r += 1
    # Blank row, then the signature block.
    r += 1
    where = {"926": "Phong Điền", "925": "Cờ Đỏ", "916": "Ninh Kiều"}[style.district_code]
    ws.cell(r, 14, f"{where}, ngày 26 tháng 12 năm 2025")
    r += 1
    ws.cell(r, 2, "Người lập biểu").font = Font(bold=True)
    ws.cell(r, 14, "TM. ỦY BAN NHÂN DÂN").font = Font(bold=True)
    ws.cell(r + 1, 2, "(Ký, ghi rõ họ tên)")
    ws.cell(r + 1, 14, "CHỦ TỊCH")
    signer = _FOOTER_NAMES[[d.slug for d in DISTRICTS].index(style.slug)]
    ws.cell(r + 5, 2, signer).font = Font(bold=True)
    for c, (name, header) in enumerate(style.columns, start=1):
        ws.column_dimensions[get_column_letter(c)].width = {"full_name": 26, "address": 16, "id_number": 15,
                                                           "household_code": 12, "birth_date": 12,
                                                           "income_per_capita": 14}.get(name, 9)
    return header_row + 1


def _guide_sheet(wb) -> None:
    ws = wb.create_sheet("Hướng dẫn")
    lines = [
        "HƯỚNG DẪN GHI DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO",
        "1. Mỗi thành viên của hộ ghi một dòng; chủ hộ ghi trước, sau đó đến các thành viên khác.",
        "2. Mã hộ gồm mã xã (5 chữ số) và số thứ tự của hộ (4 chữ số), ví dụ 31117-0012.",
        "3. Ngày sinh ghi theo dạng ngày/tháng/năm; nếu không rõ ngày thì chỉ ghi năm sinh.",
        "4. Số định danh cá nhân (CCCD) gồm 12 chữ số; định dạng ô là Văn bản để không mất số 0 ở đầu.",
        "5. Đánh dấu X vào cột chỉ số thiếu hụt mà hộ bị thiếu hụt (theo Nghị định 07/2021/NĐ-CP).",
        "6. Chuẩn nghèo khu vực thành thị: thu nhập bình quân đầu người từ 2.000.000 đồng/tháng trở xuống.",
    ]
    for i, line in enumerate(lines, start=1):
        ws.cell(i, 1, line)
    ws["A1"].font = Font(bold=True)
    ws.column_dimensions["A"].width = 100


# ---------------------------------------------------------------------------------------------
# Config and truth


def _write_truth(path: Path, truth: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS)
        writer.writeheader()
        for t in truth:
            writer.writerow({k: t[k] for k in TRUTH_COLUMNS})


def _write_config(out_dir: Path) -> Path:
    lines = [
        "# Demo province: three Cần Thơ districts as they send their 2025 rosters (synthetic data).",
        "# truth.csv lists every error planted in the workbooks.",
        f'province_code: "{PROVINCE_CODE}"',
        "output_dir: out            # relative to this file",
        "sources:",
    ]
    for style in DISTRICTS:
        lines += [
            f"  - id: cantho-{style.slug}",
            "    kind: spreadsheet",
            f"    path: districts/{style.slug}   # a folder or a file, relative to this file",
            "    mapping: auto",
            '    schedule: "@daily"',
            f'    district_code: "{style.district_code}"',
        ]
    path = out_dir / "misgw.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
