"""The record as the MIS stores it, declared once: the household, member and assessment fields, the 14
deprivation indicators, and the columns of the staged members, failures and held rows a run hands on."""
from __future__ import annotations

# The columns that make up a household's, a member's and an assessment's content. Lineage and
# run ids change only when content changes, so a rerun of the same input changes nothing.
HOUSEHOLD_COLUMNS = ["head_name", "commune_code", "commune_code_pre2025", "district_code_pre2025",
                     "province_code", "address", "area", "member_count", "hamlet", "local_code"]
MEMBER_COLUMNS = ["full_name", "relation_code", "sex", "birth_date", "birth_year", "ethnicity_code",
                  "id_number", "id_kind", "listed"]
INDICATORS = ["d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water_source", "d_latrine",
              "d_telecom", "d_information_access", "d_digital_services", "d_domestic_waste"]
ASSESSMENT_COLUMNS = ["poverty_category", "income_per_capita", *INDICATORS, "deprivation_count",
                      "approval_decision_no", "approval_date"]
LINEAGE = ["source_id", "source_file", "source_sheet", "source_row", "source_key"]

# The columns of a run's staged members (staging.run_<id>_members), failures and held rows, as map_validate
# writes them and the reconcile, the load and the fix-up workbook read them.
MEMBER_STAGE_COLUMNS = [
    "source_file", "source_sheet", "source_row", "household_code", "member_key", "full_name", "relation_code",
    "sex", "birth_date", "birth_year", "ethnicity_code", "id_number", "id_kind", "commune_code",
    "commune_code_pre2025", "district_code_pre2025", "district_code", "name_key", "source_key", "province_code", "address",
    "area", "poverty_category", "assessment_year", "income_per_capita", *INDICATORS, "deprivation_count",
    "approval_decision_no", "approval_date", "accepted", "local_code", "hamlet", "read_sheet",
    "origin_file", "origin_sheet", "origin_row", "origin_digest", "origin_household", "fixup_round", "cleared_fields"]
FAILURE_COLUMNS = ["file", "sheet", "row", "household_code", "rule", "severity", "field", "value", "message_vi",
                   "message_en", "district_code", "record_key", "fingerprint", "commune_code"]
HELD_COLUMNS = ["file", "sheet", "row", "household_code", "district_code", "record_key", "reason_vi", "cells",
                "reason_en", "commune_code", "origin_file", "origin_sheet", "origin_row", "origin_digest",
                "fixup_round"]
