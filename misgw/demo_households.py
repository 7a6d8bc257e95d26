"""Synthetic households of the demo province: members, their names and ID numbers, and their poverty classification."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from mappings.text import fold
from misgw.demo_districts import ASSESSMENT_YEAR, INCOME_LINE, INDICATORS, DistrictStyle

# How often each deprivation shows up among poor Mekong households (relative weights, not statistics).
_INDICATOR_WEIGHT = {"d_employment": 1.2, "d_dependants": 1.0, "d_nutrition": 0.6, "d_health_insurance": 0.4,
                     "d_adult_education": 1.0, "d_child_school": 0.6, "d_housing_quality": 1.2,
                     "d_floor_area": 0.9, "d_water_source": 1.0, "d_latrine": 1.3, "d_telecom": 0.4,
                     "d_information_access": 0.8}

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
