"""The fix-up workbook's layout, shared by the writer (misgw.fixup_workbook) and the reader of a returned
workbook (misgw.stages.fixup_return): sheet names, the key column, the hidden sheet and its format."""
from __future__ import annotations

HIDDEN_SHEET = "_misgw"
FIX_SHEET = "Cần sửa"
HELP_SHEET = "Hướng dẫn"
MISSING_SHEET = "Hộ không có trong DS"
WARNING_SHEET = "Cảnh báo (không chặn)"
REASON_HEADER = "Lý do cần sửa"
KEY_HEADER = "Mã dòng (không sửa)"      # the hidden column that ties a returned row to its record
FORMAT = 2                               # the hidden sheet's layout: 2 = rows matched by key, not position
