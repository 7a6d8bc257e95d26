"""The demo province's year, income lines and indicators, and how each of its three districts writes its roster."""
from __future__ import annotations

from dataclasses import dataclass

ASSESSMENT_YEAR = 2025
# Decree 07/2021/NĐ-CP income lines, VND per person per month (2022-2025).
INCOME_LINE = {"rural": 1_500_000, "urban": 2_000_000}
# The 12 deprivation indicators of the 2022-2025 standard (the demo's year). mis.record holds the 14 the MIS
# stores: the 2026-2030 standard (Decree 351/2025) adds digital services and domestic waste.
INDICATORS = ["d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water_source", "d_latrine",
              "d_telecom", "d_information_access"]

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
