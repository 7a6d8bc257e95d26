"""The errors the demo plants on purpose, one rule per row, and the truth records that say where they are."""
from __future__ import annotations

import datetime as dt
import random

from misgw.demo_districts import DistrictStyle
from misgw.demo_households import Person

ERROR_RATE = 0.015
RULES = ["required.full_name", "codelist.sex", "codelist.relation", "format.birth_date", "range.birth_date",
         "format.id_number", "cccd.birth_year", "codelist.ethnicity"]

# Bad values, one kind per rule.
_BAD_SEX = ["Không rõ", "?", "Chưa rõ", "K.rõ"]
_BAD_RELATION = ["Hàng xóm", "???", "Bạn", "Người quen"]
_BAD_ETHNICITY = ["Không xác định", "Chưa xác định", "KXĐ", "Không rõ"]


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
