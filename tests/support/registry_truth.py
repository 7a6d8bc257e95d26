"""A generated two-district registry and next year's rosters, with the true reconcile outcome of every household and person.

District A (Phong Điền, 926) and district B (Cờ Đỏ, 925) each send a first roster (the registry),
then a second one in which chosen households and people are changed on purpose: every outcome the
reconcile knows (new, changed, unchanged, moved, missing, conflict), for people with and without ID
numbers, with typos in names, a re-coded household, a household split in two, moves inside the
district and across districts, and ambiguous matches. Everything not chosen stays unchanged.

    scenario = build(seed)        # scenario.rosters["A1"] ... ["B2"]: households to write
    scenario.truth["A2"]          # {("household", code): outcome, ("member", code, name): outcome}
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook

HEADER = ["STT", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Mã xã", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]
COMMUNES_A = ["31300", "31303", "31315"]          # Nhơn Ái, Giai Xuân, Nhơn Nghĩa (Phong Điền, 926)
COMMUNES_B = ["31222"]                            # Trung An (Cờ Đỏ, 925)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý", "Thạch", "Lâm", "Trương", "Cao"]
MIDDLE = {"M": ["Văn", "Hữu", "Minh", "Quốc", "Thanh", "Đức"], "F": ["Thị", "Ngọc", "Thu", "Kim", "Mỹ"]}
GIVEN = {"M": ["An", "Bảo", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khang", "Khoa", "Lâm", "Long", "Nam",
               "Nghĩa", "Phát", "Phong", "Quang", "Sơn", "Tài", "Thành", "Thắng", "Toàn", "Trí", "Trung", "Tuấn",
               "Vinh"],
         "F": ["Anh", "Châu", "Diễm", "Dung", "Giang", "Hạnh", "Hoa", "Hồng", "Huệ", "Lan", "Liên", "Linh", "Loan",
               "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Trang", "Tuyết",
               "Vân", "Yến"]}


@dataclass
class Person:
    name: str
    relation: str
    sex: str                      # "M" / "F"
    year: int
    date: str | None              # dd/mm/yyyy, or None when only the year is known
    cccd: str | None

    def row(self, household: "Household") -> list:
        return [household.code, self.name, self.relation, "Nam" if self.sex == "M" else "Nữ",
                self.date or str(self.year), "Kinh", self.cccd, household.commune, household.category, 2025,
                household.income]


@dataclass
class Household:
    code: str
    commune: str
    people: list[Person]
    category: str = "Hộ nghèo"
    income: int = 1_200_000


@dataclass
class Scenario:
    rosters: dict[str, list[Household]] = field(default_factory=dict)
    truth: dict[str, dict[tuple, str]] = field(default_factory=dict)


class _People:
    """Unique names and ID numbers whose digits agree with sex and birth year (CCCD of Cần Thơ, 092)."""

    def __init__(self, rng: random.Random):
        self.rng, self.used, self.serial = rng, set(), 0

    def name(self, sex: str, family: str | None = None) -> str:
        from mappings.text import fold

        while True:
            name = f"{family or self.rng.choice(FAMILY)} {self.rng.choice(MIDDLE[sex])} {self.rng.choice(GIVEN[sex])}"
            if fold(name) not in self.used:
                self.used.add(fold(name))
                return name

    def cccd(self, sex: str, year: int) -> str:
        self.serial += 1
        century = (year // 100 - 19) * 2 + (sex == "F")
        return f"092{century}{year % 100:02d}{self.serial:06d}"

    def person(self, relation: str, sex: str, year: int, with_id: bool, family: str | None = None,
               name: str | None = None) -> Person:
        date = f"{self.rng.randint(1, 28):02d}/{self.rng.randint(1, 12):02d}/{year}" if with_id else None
        return Person(name or self.name(sex, family), relation, sex, year, date,
                      self.cccd(sex, year) if with_id else None)


def _household(people: _People, rng: random.Random, code: str, commune: str, children: int = 2,
               child_ids: bool | None = None, child_years: range = range(2000, 2019)) -> Household:
    family = rng.choice(FAMILY)
    head_sex = rng.choice("MF")
    head_year = rng.randint(1950, 1985)
    members = [people.person("Chủ hộ", head_sex, head_year, True, family),
               people.person("Vợ" if head_sex == "M" else "Chồng", "F" if head_sex == "M" else "M",
                             head_year + rng.randint(-4, 4), True)]
    # Children without ID numbers have distinct birth years, so the household itself never blocks two
    # of them together: an ambiguity in this data is always one made on purpose.
    years = rng.sample(child_years, children)
    for year in sorted(years):
        with_id = child_ids if child_ids is not None else (year <= 2008 and rng.random() < 0.5)
        members.append(people.person("Con", rng.choice("MF"), year, with_id, family))
    category = rng.choice(["Hộ nghèo", "Hộ cận nghèo"])
    return Household(code, commune, members, category, 1_200_000 if category == "Hộ nghèo" else 1_400_000)


def _typo(name: str) -> str:
    """One letter doubled in the given name: "Trần Thị Bình" -> "Trần Thị Bìnnh" (what a hurried typist does)."""
    given = name.split()[-1]
    return name[: len(name) - len(given)] + given + given[-1]


def build(seed: int = 7, households_a: int = 40, households_b: int = 20) -> Scenario:
    rng = random.Random(seed)
    people = _People(rng)
    a1 = [_household(people, rng, f"A{i:03d}", COMMUNES_A[i % len(COMMUNES_A)], rng.randint(1, 3))
          for i in range(households_a)]
    b1 = [_household(people, rng, f"B{i:03d}", COMMUNES_B[0], rng.randint(1, 3)) for i in range(households_b)]
    # Households the scenarios need in a known shape.
    a1[2] = _household(people, rng, "A002", COMMUNES_A[2], 2, child_ids=False)
    a1[3] = _household(people, rng, "A003", COMMUNES_A[0], 1, child_ids=False)
    a1[3].people[2].year = 2009
    a1[10] = _household(people, rng, "A010", COMMUNES_A[1], 2, child_ids=False)
    a1[14] = _household(people, rng, "A014", COMMUNES_A[2], 2, child_ids=True, child_years=range(1998, 2008))
    a1[18] = _household(people, rng, "A018", COMMUNES_A[0], 1, child_ids=False)
    twins = a1[17] = _household(people, rng, "A017", COMMUNES_A[1], 0)
    family = twins.people[0].name.split()[0]
    twins.people += [people.person("Con", "F", 2012, False, name=f"{family} Thị Thu"),
                     people.person("Con", "F", 2012, False, name=f"{family} Thị Thủy")]
    b1[10] = _household(people, rng, "B010", COMMUNES_B[0], 2, child_ids=False)

    a2, b2 = copy.deepcopy(a1), copy.deepcopy(b1)
    truth_a: dict[tuple, str] = {}
    truth_b: dict[tuple, str] = {}

    def mark(truth, household: Household, outcome: str, members: dict[str, str] | None = None):
        truth[("household", household.code)] = outcome
        for name, member_outcome in (members or {}).items():
            truth[("member", household.code, name)] = member_outcome

    by_code = {h.code: h for h in a2}
    # a0: the household's category changes.
    h = by_code["A000"]
    h.category, h.income = ("Hộ cận nghèo", 1_400_000) if h.category == "Hộ nghèo" else ("Hộ nghèo", 1_200_000)
    mark(truth_a, h, "changed")
    # a1: the head's name is corrected (the head has an ID number: matched by it).
    h = by_code["A001"]
    h.people[0].name = people.name(h.people[0].sex, h.people[0].name.split()[0])
    mark(truth_a, h, "changed", {h.people[0].name: "changed"})
    # a2: a typo in the name of a child without an ID number.
    h = by_code["A002"]
    h.people[2].name = _typo(h.people[2].name)
    mark(truth_a, h, "changed", {h.people[2].name: "changed"})
    # a3: a child without an ID number now has one (matched by name and birth year).
    h = by_code["A003"]
    child = h.people[2]
    child.cccd = people.cccd(child.sex, child.year)
    child.date = f"15/06/{child.year}"
    mark(truth_a, h, "changed", {child.name: "changed"})
    # a4: a baby is born.
    h = by_code["A004"]
    baby = people.person("Con", "F", 2024, False, h.people[0].name.split()[0])
    h.people.append(baby)
    mark(truth_a, h, "changed", {baby.name: "new"})
    # a5: a child leaves the roster.
    h = by_code["A005"]
    gone = h.people.pop()
    mark(truth_a, h, "changed", {gone.name: "missing"})
    # a6: the household moves to another commune of the district, same code.
    h = by_code["A006"]
    h.commune = next(c for c in COMMUNES_A if c != h.commune)
    mark(truth_a, h, "moved")
    # a7: the district re-codes the household; its members (by ID number) say it is the same one.
    h = by_code["A007"]
    h.code = "A007-N"
    mark(truth_a, h, "changed")
    # a8 -> a9: a person with an ID number moves to another household of the district.
    spouse = by_code["A008"].people.pop(1)
    spouse.relation = "Khác"
    by_code["A009"].people.append(spouse)
    mark(truth_a, by_code["A008"], "changed")
    mark(truth_a, by_code["A009"], "changed", {spouse.name: "moved"})
    # a10 -> a11: a child without an ID number moves (same name, birth year and sex).
    child = by_code["A010"].people.pop()
    child.relation = "Cháu"
    by_code["A011"].people.append(child)
    mark(truth_a, by_code["A010"], "changed")
    mark(truth_a, by_code["A011"], "changed", {child.name: "moved"})
    # a12: a household is no longer on the roster: missing, never deleted.
    h = by_code["A012"]
    a2.remove(h)
    mark(truth_a, h, "missing", {p.name: "missing" for p in h.people})
    # a13: a new household.
    h = _household(people, rng, "A013-N", COMMUNES_A[0], 2)
    a2.append(h)
    mark(truth_a, h, "new", {p.name: "new" for p in h.people})
    # a14: the household splits: its two children (with ID numbers) appear as a household of their own.
    h = by_code["A014"]
    split = Household("A014-T", h.commune, h.people[2:], h.category, h.income)
    h.people = h.people[:2]
    split.people[0].relation, split.people[1].relation = "Chủ hộ", "Em"
    a2.append(split)
    mark(truth_a, h, "changed")
    mark(truth_a, split, "conflict", {p.name: "conflict" for p in split.people})
    # a15: a new household written under a code that district B also uses: codes are unique within their
    # district only, so it is another household (its key is qualified by its district), new, never B's.
    h = _household(people, rng, "B005", COMMUNES_A[1], 1)
    a2.append(h)
    mark(truth_a, h, "new", {p.name: "new" for p in h.people})
    # a16: a person added with the ID number of a person district B still lists.
    h = by_code["A016"]
    other = copy.deepcopy(b1[6].people[1])
    other.relation = "Khác"
    h.people.append(other)
    mark(truth_a, h, "conflict", {other.name: "conflict"})
    # a17: the twins Thu and Thủy (no ID numbers) are written once, as "Thuu": close to both, so ambiguous.
    h = by_code["A017"]
    thuu = copy.deepcopy(h.people[2])
    thuu.name = h.people[2].name + "u"
    h.people[2:] = [thuu]
    mark(truth_a, h, "conflict", {thuu.name: "conflict"})
    # a18: a child without an ID number, exact name, birth year corrected.
    h = by_code["A018"]
    h.people[2].year += 1
    mark(truth_a, h, "changed", {h.people[2].name: "changed"})

    by_code_b = {h.code: h for h in b2}
    # b10 leaves district B's roster (missing there) and appears in district A under a new code: moved.
    h = by_code_b["B010"]
    b2.remove(h)
    mark(truth_b, h, "missing", {p.name: "missing" for p in h.people})
    arrived = Household("A019-N", COMMUNES_A[2], copy.deepcopy(h.people), h.category, h.income)
    a2.append(arrived)
    mark(truth_a, arrived, "moved")
    # b11's spouse (ID number) leaves for household A020: missing in B, moved in A.
    h = by_code_b["B011"]
    spouse = h.people.pop(1)
    mark(truth_b, h, "changed", {spouse.name: "missing"})
    spouse = copy.deepcopy(spouse)
    spouse.relation = "Khác"
    by_code["A020"].people.append(spouse)
    mark(truth_a, by_code["A020"], "changed", {spouse.name: "moved"})

    return Scenario(rosters={"A1": a1, "B1": b1, "A2": a2, "B2": b2}, truth={"A2": truth_a, "B2": truth_b})


def expected(scenario: Scenario, run: str, registry: str) -> tuple[dict, dict]:
    """(households, members): every roster entity's outcome, "unchanged" unless chosen, plus the missing ones."""
    truth = scenario.truth[run]
    households, members = {}, {}
    for h in scenario.rosters[run]:
        households[h.code] = truth.get(("household", h.code), "unchanged")
        for p in h.people:
            members[(h.code, p.name)] = truth.get(("member", h.code, p.name), "unchanged")
    for key, outcome in truth.items():
        if key[0] == "household" and outcome == "missing":
            households[key[1]] = "missing"
        if key[0] == "member" and outcome == "missing":
            members[(key[1], key[2])] = "missing"
    # A conflict household's people keep their own outcomes, but are never loaded; the split's and
    # the collisions' people are all conflicts (their household's match cannot be trusted).
    return households, members


def write(households: list[Household], path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(["DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025"])
    ws.append(HEADER)
    n = 0
    for h in households:
        for p in h.people:
            n += 1
            ws.append([n, *p.row(h)])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
