-- Central MIS schema, modelled on MIS POSASoft (see docs/mis-model.md).
-- Everything lives in schema "mis"; per-run work tables live in schema "staging".

CREATE SCHEMA IF NOT EXISTS mis;
CREATE SCHEMA IF NOT EXISTS staging;

-- ---------------------------------------------------------------- administrative units
-- Pre-2025 (three levels, Decision 124/2004/QĐ-TTg codes).
CREATE TABLE mis.province_pre2025 (
    province_code   text PRIMARY KEY,
    name            text NOT NULL
);

CREATE TABLE mis.district_pre2025 (
    district_code   text PRIMARY KEY,
    name            text NOT NULL,
    province_code   text NOT NULL REFERENCES mis.province_pre2025
);

CREATE TABLE mis.commune_pre2025 (
    commune_code    text PRIMARY KEY,
    name            text NOT NULL,
    level           text,               -- Xã / Phường / Thị trấn
    district_code   text NOT NULL REFERENCES mis.district_pre2025,
    province_code   text NOT NULL REFERENCES mis.province_pre2025
);

-- Current units, from 1 July 2025 (two levels, Resolution 202/2025/QH15).
CREATE TABLE mis.province (
    province_code   text PRIMARY KEY,
    name            text NOT NULL
);

CREATE TABLE mis.commune (
    commune_code    text PRIMARY KEY,
    name            text NOT NULL,
    province_code   text NOT NULL REFERENCES mis.province
);

-- New commune <- old commune, as published. merge_kind is derived from the note:
-- whole (Nhập toàn bộ, Giữ nguyên, ...), part (Nhập một phần ...), other.
CREATE TABLE mis.commune_crosswalk (
    crosswalk_id          bigserial PRIMARY KEY,
    commune_code          text NOT NULL REFERENCES mis.commune,
    commune_code_pre2025  text,             -- NULL for areas with no old commune (đặc khu, bãi bồi)
    old_name              text,
    old_district          text,
    old_province          text,
    merge_kind            text NOT NULL CHECK (merge_kind IN ('whole', 'part', 'other')),
    note                  text
);
CREATE INDEX ON mis.commune_crosswalk (commune_code_pre2025);

-- Where a pre-2025 commune goes: placed when it has exactly one new commune,
-- otherwise held with the candidate list for a person to choose.
CREATE VIEW mis.commune_placement AS
SELECT c.commune_code AS commune_code_pre2025,
       c.district_code AS district_code_pre2025,
       c.province_code AS province_code_pre2025,
       CASE WHEN count(DISTINCT x.commune_code) = 1 THEN min(x.commune_code) END AS commune_code,
       array_remove(array_agg(DISTINCT x.commune_code ORDER BY x.commune_code), NULL) AS candidates
FROM mis.commune_pre2025 c
LEFT JOIN mis.commune_crosswalk x ON x.commune_code_pre2025 = c.commune_code
GROUP BY c.commune_code, c.district_code, c.province_code;

-- ---------------------------------------------------------------- registry
-- Lineage columns on every loaded row: source_id, source_file, source_sheet,
-- source_row (the row number Excel shows), created_run_id, updated_run_id.
CREATE TABLE mis.household (
    household_id          bigserial PRIMARY KEY,
    household_code        text NOT NULL UNIQUE,
    head_name             text,
    commune_code          text REFERENCES mis.commune,
    commune_code_pre2025  text REFERENCES mis.commune_pre2025,
    district_code_pre2025 text,
    province_code         text,
    address               text,
    area                  text CHECK (area IN ('urban', 'rural')),
    member_count          integer,
    source_id             text NOT NULL,
    source_file           text,
    source_sheet          text,
    source_row            integer,
    created_run_id        text NOT NULL,
    updated_run_id        text NOT NULL
);
CREATE INDEX ON mis.household (commune_code);
CREATE INDEX ON mis.household (commune_code_pre2025);

CREATE TABLE mis.member (
    member_id             bigserial PRIMARY KEY,
    household_id          bigint NOT NULL REFERENCES mis.household,
    member_key            text NOT NULL,      -- stable identity inside the household
    full_name             text NOT NULL,
    relation_code         text NOT NULL,      -- mappings/codelists.yaml: relation
    sex                   text CHECK (sex IN ('M', 'F')),
    birth_date            date,               -- NULL when only the year is known
    birth_year            integer,
    ethnicity_code        text,
    id_number             text,
    id_kind               text CHECK (id_kind IN ('cccd', 'cmnd')),
    listed                boolean NOT NULL DEFAULT true,  -- false: no longer on the household's roster
    source_id             text NOT NULL,
    source_file           text,
    source_sheet          text,
    source_row            integer,
    created_run_id        text NOT NULL,
    updated_run_id        text NOT NULL,
    UNIQUE (household_id, member_key)
);
CREATE INDEX ON mis.member (id_number);

CREATE TABLE mis.poverty_assessment (
    household_id             bigint NOT NULL REFERENCES mis.household,
    assessment_year          integer NOT NULL,
    poverty_category         text NOT NULL CHECK (poverty_category IN ('poor', 'near_poor', 'average', 'not_poor')),
    income_per_capita        numeric(14, 0),
    -- The 12 deprivation indicators of Decree 07/2021, plus the two Decree 351/2025 adds.
    d_employment             boolean,
    d_dependants             boolean,
    d_nutrition              boolean,
    d_health_insurance       boolean,
    d_adult_education        boolean,
    d_child_school           boolean,
    d_housing_quality        boolean,
    d_floor_area             boolean,
    d_water_source           boolean,
    d_latrine                boolean,
    d_telecom                boolean,
    d_information_access     boolean,
    d_digital_services       boolean,
    d_domestic_waste         boolean,
    deprivation_count        integer,
    approval_decision_no     text,
    approval_date            date,
    source_id                text NOT NULL,
    source_file              text,
    source_sheet             text,
    source_row               integer,
    created_run_id           text NOT NULL,
    updated_run_id           text NOT NULL,
    PRIMARY KEY (household_id, assessment_year)
);

-- Social assistance beneficiaries (Decree 20/2021/NĐ-CP): allowance = standard level x coefficient.
CREATE TABLE mis.beneficiary (
    beneficiary_id        bigserial PRIMARY KEY,
    member_id             bigint NOT NULL REFERENCES mis.member,
    group_code            text NOT NULL,
    coefficient           numeric(4, 2) NOT NULL,
    standard_level        numeric(12, 0) NOT NULL,
    monthly_amount        numeric(14, 0) GENERATED ALWAYS AS (standard_level * coefficient) STORED,
    start_date            date,
    end_date              date,
    decision_no           text,
    source_id             text NOT NULL,
    source_file           text,
    source_sheet          text,
    source_row            integer,
    created_run_id        text NOT NULL,
    updated_run_id        text NOT NULL,
    UNIQUE (member_id, group_code)
);

-- ---------------------------------------------------------------- run ledger
CREATE TABLE mis.sync_run (
    run_id                text PRIMARY KEY,
    source_id             text NOT NULL,
    province_code         text,
    district_code         text,
    dry_run               boolean NOT NULL DEFAULT false,
    options               jsonb NOT NULL DEFAULT '{}',   -- config path, files, ...: what later stages need
    status                text NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    stage                 text,
    started_at            timestamptz NOT NULL DEFAULT now(),
    finished_at           timestamptz,
    rows_read             integer,
    households_accepted   integer,
    members_accepted      integer,
    rows_rejected         integer,
    households_rejected   integer,
    reconcile             jsonb,
    mapping_report        jsonb,
    fixup_workbook        text,
    error                 text
);
CREATE INDEX ON mis.sync_run (source_id, started_at);

-- One entry per problem, kept open across runs until a run loads the fixed record.
CREATE TABLE mis.reject_entry (
    entry_id              bigserial PRIMARY KEY,
    source_id             text NOT NULL,
    fingerprint           text NOT NULL,
    status                text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'waived')),
    waive_reason          text,
    first_run_id          text NOT NULL,
    last_run_id           text NOT NULL,
    resolved_run_id       text,
    seen_count            integer NOT NULL DEFAULT 1,
    household_code        text,
    district_code         text,
    UNIQUE (source_id, fingerprint)
);

-- One row per rejected (or warned) record per run; values of ID fields are stored masked.
CREATE TABLE mis.reject (
    reject_id             bigserial PRIMARY KEY,
    run_id                text NOT NULL REFERENCES mis.sync_run,
    entry_id              bigint REFERENCES mis.reject_entry,
    source_id             text NOT NULL,
    file                  text,
    sheet                 text,
    row                   integer,
    household_code        text,
    rule                  text NOT NULL,
    severity              text NOT NULL CHECK (severity IN ('reject', 'warning')),
    field                 text,
    value                 text,
    message_vi            text NOT NULL,
    message_en            text NOT NULL
);
CREATE INDEX ON mis.reject (run_id);

-- Every row of a held-back household, as written, so the fix-up workbook can be rebuilt at any time.
CREATE TABLE mis.held_row (
    run_id                text NOT NULL REFERENCES mis.sync_run,
    source_id             text NOT NULL,
    file                  text,
    sheet                 text,
    row                   integer,
    household_code        text,
    district_code         text,
    reason_vi             text,
    cells                 jsonb NOT NULL,          -- field -> value as written
    PRIMARY KEY (run_id, file, sheet, row)
);
