"""Text helpers over whole columns give, row for row, what the one-value functions give."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mappings.text import clean, clean_series, fold, fold_series, map_distinct, name_case, on_distinct

CELLS = ["  Nguyễn  Văn\tAn ", "Nguyễn Văn An", None, "", "\u200bLò Thị Nga", 5, 5.0, "5", float("nan"),
         "NGUYỄN THỊ HOA", "Đặng  Văn   Bình\u00ad", "   "]


@pytest.mark.parametrize("cells", [CELLS, [None] * 7, [float("nan")] * 3, [pd.NA] * 4, []],
                         ids=["mixed", "all None", "all NaN", "all NA", "empty"])
def test_column_helpers_agree_with_the_value_functions(cells):
    column = pd.Series(cells, dtype=object, index=np.arange(10, 10 + len(cells)))
    cleaned = clean_series(column)
    assert list(cleaned.index) == list(column.index)
    assert [None if pd.isna(v) else v for v in cleaned] == [clean(None if pd.isna(v) else v) for v in cells]
    folded = fold_series(column)
    assert [None if pd.isna(v) else v for v in folded] == [None if pd.isna(v) else fold(v) for v in cells]


def test_a_column_with_no_value_gives_the_blank_answer_on_every_row():
    calls = []

    def func(s: pd.Series) -> pd.Series:
        calls.append(len(s))
        return s.fillna("trống")

    out = on_distinct(pd.Series([None, None, None], index=[3, 4, 5]), func)
    assert list(out) == ["trống"] * 3 and list(out.index) == [3, 4, 5]
    assert calls == [1]          # one call, on the blank, not one per row
    assert list(map_distinct(pd.Series([None, None]), lambda v: "x")) == [pd.NA, pd.NA]
    assert list(name_case(pd.Series([None, "LÒ VĂN PÁO"])).fillna("")) == ["", "Lò Văn Páo"]
