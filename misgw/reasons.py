"""Why a run failed or needs a person, in Vietnamese for the operator's page and the district (English kept as detail)."""
from __future__ import annotations

import re

# (pattern over the English reason, Vietnamese sentence with the pattern's groups). The first match wins;
# a reason that already speaks Vietnamese (bilingual messages "vi / en") is kept as written.
_PATTERNS: list[tuple[str, str]] = [
    (r"^File not read: (.+)", "Có tệp chưa được đọc: {0}"),
    (r"(\d+) rows judged and none accepted", "{0} dòng đã được kiểm tra nhưng không dòng nào được nhận: xem sổ sửa "
                                              "lỗi; cả huyện bị trả lại thường là do một cột bị đọc sai."),
    (r"^(.+?): the file is damaged or not an Excel workbook", "{0}: tệp bị hỏng hoặc không phải bảng tính Excel."),
    (r"^(.+?) refused the login through the ODBC driver (\S+)",
     "Cơ sở dữ liệu {0} từ chối đăng nhập (trình điều khiển {1}); không thử lại để tránh khóa tài khoản: kiểm tra "
     "tên đăng nhập và mật khẩu trong kết nối Airflow."),
    (r"^Cannot reach (.+?) through the ODBC driver (\S+) after (\d+)",
     "Không kết nối được cơ sở dữ liệu {0} (trình điều khiển {1}) sau {2} lần thử."),
    (r"The ODBC driver (\S+) crashed .*? while reading (.+?)\. ",
     "Trình điều khiển ODBC {0} bị lỗi khi đọc {1}: chỉ nguồn này dừng."),
    (r"^Reading (.+?) through the ODBC driver (\S+) stopped", "Đọc {0} (trình điều khiển {1}) bị ngừng: quá lâu không có dữ liệu."),
    (r"^Reading (.+?) through the ODBC driver (\S+) failed", "Đọc {0} (trình điều khiển {1}) thất bại: bảng, cột hoặc câu "
                                                            "truy vấn không đúng."),
    (r"Airflow connection '([^']+)' is not defined", "Chưa khai báo kết nối Airflow '{0}'."),
    (r"^(.+?): refused \((\d+)\)", "Dịch vụ {0} từ chối truy cập (mã {1}): kiểm tra thông tin đăng nhập."),
    (r"^(.+?): no answer within", "Dịch vụ {0} không trả lời."),
    (r"^(.+?): cannot connect", "Không kết nối được dịch vụ {0}."),
    (r"^(.+?): the service answered (\d+)", "Dịch vụ {0} trả lời lỗi {1}."),
    (r"^(.+?): the page is not valid JSON", "Dịch vụ {0} trả về dữ liệu không đúng định dạng JSON."),
    (r"is being synced by|is busy", "Nguồn đang được một lần chạy khác đồng bộ."),
    (r"^Rejected at approval by (\S+?):", "Bị {0} từ chối khi phê duyệt: không tải gì vào MIS."),
    (r"^Rejected at approval", "Bị từ chối khi phê duyệt: không tải gì vào MIS."),
    (r"^Not approved within the time allowed", "Không được phê duyệt trong thời hạn: không tải gì vào MIS."),
    (r"timed out or lost its worker", "Một bước trong Airflow quá thời gian hoặc mất tiến trình chạy."),
    (r"^Unexpected error \((\w+)\)", "Lỗi ngoài dự kiến ({0}): báo cho bộ phận CNTT tỉnh."),
    (r"^Interrupted", "Lần chạy bị ngắt giữa chừng: không có gì được tải dở."),
]
_COMPILED = [(re.compile(p, re.S), vi) for p, vi in _PATTERNS]
# Letters only Vietnamese has: a reason that has them already speaks to the district.
_VIETNAMESE = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


def vietnamese(reason: str | None) -> str | None:
    """The reason in Vietnamese: a known failure's sentence, a bilingual reason as it is, otherwise the
    English text introduced in Vietnamese (never dropped: the detail is what IT needs)."""
    if not reason:
        return reason
    if _VIETNAMESE.search(reason):
        return reason
    for pattern, sentence in _COMPILED:
        found = pattern.search(reason)
        if found:
            return sentence.format(*found.groups())
    return f"Lỗi (chi tiết bằng tiếng Anh): {reason}"
