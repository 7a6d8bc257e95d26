"""Reads and checks the sources file (misgw.yaml) that provincial IT edit."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from common.errors import UserError
from connectors import KINDS

DEFAULT_CONFIG = "misgw.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ConfigError(UserError):
    pass


# Keys every source takes; each kind adds its own (its connector's OPTIONS).
COMMON_KEYS = {"id", "kind", "mapping", "schedule", "district_code", "unit_era", "pool", "queue",
               "approval_threshold", "assessment_year", "ethnicity_edition"}
# How a relation written "Ba" without accents is read: father (as the south says it) or Bà, the grandmother.
BARE_BA = {"father": "04", "grandparent": "05", "ask": None}
DEFAULT_APPROVAL = {"share": 0.05, "min_households": 20}


@dataclass(frozen=True)
class Source:
    id: str
    kind: str
    mapping: str                 # "auto" or a path to a mapping YAML
    schedule: str | None
    district_code: str | None    # pre-2025 district code, when the source is one district
    unit_era: str = "pre2025"    # which administrative units its codes and names follow
    options: dict = field(default_factory=dict)   # the connector's own keys, checked
    base: Path = Path(".")       # the sources file's folder: relative paths start here
    pool: str | None = None      # Airflow pool: one per legacy database server, so it is never hit at once
    queue: str = "default"       # Celery queue: heavy sources go to larger workers
    approval_share: float | None = None   # a run changing more of the district than this waits for a person
    assessment_year: int | None = None    # the review year of every file of the source (wins over the files)
    ethnicity_edition: str | None = None  # the GSO list its ethnicity codes follow: 2008 or 1979

    @property
    def mapping_path(self) -> Path | None:
        return None if self.mapping == "auto" else Path(self.mapping)

    @property
    def path(self) -> Path | None:
        """A spreadsheet source's file or folder."""
        return (self.base / self.options["path"]).resolve() if self.options.get("path") else None

    def connector(self):
        from connectors import connector_class

        return connector_class(self.kind)(self.id, self.options, self.base)


@dataclass(frozen=True)
class Config:
    path: Path
    province_code: str
    output_dir: Path
    sources: tuple[Source, ...]
    rules: dict = field(default_factory=dict)
    province_code_current: str | None = None   # the province after 1 July 2025 (merged provinces change code)
    approval_min_households: int = DEFAULT_APPROVAL["min_households"]
    alerts: dict = field(default_factory=dict)  # email (list), smtp_conn_id, webhook (URL), webhook_conn_id
    relation_ba: str = "ask"                    # a bare "Ba": father | grandparent | ask (see BARE_BA)

    @property
    def bare_values(self) -> dict[str, dict[str, str]]:
        """Per code list, how bare values several codes share are read ({"relation": {"ba": "04"}})."""
        code = BARE_BA[self.relation_ba]
        return {"relation": {"ba": code}} if code else {}

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.sources)
        raise ConfigError(f"{self.path}: no source '{source_id}' (sources: {known}).")


def config_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get("MISGW_CONFIG") or DEFAULT_CONFIG).resolve()


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Parse and check the config; every problem is a ConfigError naming the file and the key."""
    path = config_path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'province_code' and 'sources'.")
    base = path.parent
    province = _code(data.get("province_code"), 2, f"{path}: 'province_code'")
    sources_raw = data.get("sources")
    if not isinstance(sources_raw, list) or not sources_raw:
        raise ConfigError(f"{path}: 'sources' must be a non-empty list.")
    approval = _share(data.get("approval_threshold", DEFAULT_APPROVAL["share"]), f"{path}: 'approval_threshold'")
    sources: list[Source] = []
    seen: set[str] = set()
    for i, raw in enumerate(sources_raw, start=1):
        where = f"{path}: sources[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping with id, kind, path.")
        sid = str(raw.get("id", "")).strip()
        if not _ID.match(sid):
            raise ConfigError(f"{where}: 'id' must be lower-case letters, digits, '-' or '_' (got {sid!r}).")
        if sid in seen:
            raise ConfigError(f"{where}: duplicate source id '{sid}'.")
        seen.add(sid)
        where = f"{path}: source '{sid}'"
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)} (got {kind!r}).")
        from connectors import connector_class

        connector = connector_class(kind)
        unknown = sorted(set(raw) - COMMON_KEYS - set(connector.OPTIONS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} for a {kind} source "
                              f"(it takes {', '.join(sorted(COMMON_KEYS | set(connector.OPTIONS)))}).")
        try:
            options = connector.check_options(raw, where)
        except ConfigError:
            raise
        except UserError as exc:
            raise ConfigError(str(exc)) from None
        mapping = str(raw.get("mapping", "auto"))
        if mapping != "auto":
            mapping_file = (base / mapping).resolve()
            if not mapping_file.is_file():
                raise ConfigError(f"{where}: mapping file not found: {mapping_file}.")
            mapping = str(mapping_file)
        district = raw.get("district_code")
        district = _code(district, 3, f"{where}: 'district_code'") if district is not None else None
        era = str(raw.get("unit_era", "pre2025"))
        if era not in ("pre2025", "current"):
            raise ConfigError(f"{where}: 'unit_era' must be 'pre2025' (codes and names before 1 July 2025) "
                              f"or 'current' (got {era!r}).")
        pool = raw.get("pool")
        if pool is None and kind == "odbc":
            pool = "misgw_db_" + re.sub(r"[^A-Za-z0-9_]", "_", options["conn_id"])   # one pool per database
        queue = str(raw.get("queue", "default"))
        share = _share(raw.get("approval_threshold", approval), f"{where}: 'approval_threshold'")
        year = raw.get("assessment_year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100):
            raise ConfigError(f"{where}: 'assessment_year' must be a year such as 2025 (got {year!r}).")
        edition = raw.get("ethnicity_edition")
        if edition is not None and str(edition) not in ("2008", "1979"):
            raise ConfigError(f"{where}: 'ethnicity_edition' must be 2008 (Decision 1019/QĐ-TCTK) or 1979 "
                              f"(121-TCTK/PPCĐ) (got {edition!r}).")
        sources.append(Source(id=sid, kind=kind, mapping=mapping, schedule=raw.get("schedule"),
                              district_code=district, unit_era=era, options=options, base=base,
                              pool=str(pool) if pool else None, queue=queue, approval_share=share,
                              assessment_year=year, ethnicity_edition=None if edition is None else str(edition)))
    output_dir = (base / str(data.get("output_dir", "out"))).resolve()
    rules = _check_rules(data.get("rules") or {}, path)
    current = _code(data.get("province_code_current", province), 2, f"{path}: 'province_code_current'")
    minimum = data.get("approval_min_households", DEFAULT_APPROVAL["min_households"])
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
        raise ConfigError(f"{path}: 'approval_min_households' must be a whole number (got {minimum!r}).")
    # The south calls the father "Ba"; elsewhere a bare "Ba" is asked about (it may be Bà, the grandmother).
    ba = data.get("relation_ba", "father" if int(current) >= 70 or int(province) >= 70 else "ask")
    if ba not in BARE_BA:
        raise ConfigError(f"{path}: 'relation_ba' must be father, grandparent or ask (got {ba!r}).")
    return Config(path=path, province_code=province, output_dir=output_dir,
                  sources=tuple(sources), rules=rules, province_code_current=current,
                  approval_min_households=minimum, alerts=_check_alerts(data.get("alerts") or {}, path),
                  relation_ba=ba)


def _share(value, where: str) -> float | None:
    """A share of the district's households (0.05 = 5%), or None (off)."""
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError(f"{where} must be a share between 0 and 1 (0.05 = 5%), or null to switch it off "
                          f"(got {value!r}).")
    return float(value)


def _check_alerts(alerts, path: Path) -> dict:
    if not isinstance(alerts, dict) or set(alerts) - {"email", "smtp_conn_id", "webhook", "webhook_conn_id"}:
        raise ConfigError(f"{path}: 'alerts' takes email (a list of addresses), smtp_conn_id, webhook (a URL) "
                          "and webhook_conn_id.")
    email = alerts.get("email") or []
    if isinstance(email, str):
        email = [email]
    if not all(isinstance(e, str) and "@" in e for e in email):
        raise ConfigError(f"{path}: 'alerts.email' must be e-mail addresses.")
    webhook = alerts.get("webhook")
    if webhook is not None and not str(webhook).startswith(("http://", "https://")):
        raise ConfigError(f"{path}: 'alerts.webhook' must be an http(s) URL.")
    return {"email": email, "smtp_conn_id": alerts.get("smtp_conn_id", "smtp_default"), "webhook": webhook,
            "webhook_conn_id": alerts.get("webhook_conn_id")}


def _check_rules(rules, path: Path) -> dict:
    from expectations.validate import rule_book

    if not isinstance(rules, dict):
        raise ConfigError(f"{path}: 'rules' must be a mapping of rule id to settings.")
    known = rule_book()
    for rule_id, change in rules.items():
        if rule_id not in known:
            raise ConfigError(f"{path}: 'rules' names an unknown rule '{rule_id}' (see expectations/rules.yaml).")
        if not isinstance(change, dict) or set(change) - {"severity", "enabled"}:
            raise ConfigError(f"{path}: rule '{rule_id}' takes only 'severity' and 'enabled'.")
        if known[rule_id].get("fixed"):
            raise ConfigError(f"{path}: rule '{rule_id}' cannot be changed: a conflict with the MIS always "
                              "waits for a person to decide.")
        if change.get("severity", "reject") not in ("reject", "warning"):
            raise ConfigError(f"{path}: rule '{rule_id}': severity must be 'reject' or 'warning'.")
    return rules


def _code(value, width: int, where: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or len(text) > width:
        raise ConfigError(f"{where} must be a {width}-digit code (got {value!r}).")
    return text.zfill(width)
