"""Approval of a large change: whether a run must wait for a person, what that person reads (the households and
fields in Vietnamese), and the answer kept on the run."""
from __future__ import annotations

import json
import logging

from mappings import codelists
from mappings.vocabulary import vocabulary
from mis import db, runs, units
from mis import reconcile as mis_reconcile
from misgw.stages.run_context import context

log = logging.getLogger("misgw")

# Fields with no header of their own in the vocabulary (or whose first alias reads oddly on its own).
_LABELS = {"head_name": "Họ tên chủ hộ", "commune_code_pre2025": "Mã xã (trước 2025)",
           "district_code_pre2025": "Mã huyện (trước 2025)", "province_code": "Mã tỉnh", "local_code": "Mã hộ tại xã",
           "hamlet": "Thôn/ấp/khu phố", "members": "thành viên", "members_left": "thành viên rời hộ",
           "poverty_assessment": "kết quả rà soát năm", "household_code": "Mã hộ", "listed": "có trong danh sách"}
_OUTCOMES = {"changed": "thay đổi", "moved": "chuyển nơi", "missing": "không còn trong danh sách"}


def field_name(field: str) -> str:
    """A field's Vietnamese name, as district staff know it from their rosters."""
    if field in _LABELS:
        return _LABELS[field]
    entry = vocabulary().get(field)
    return entry["aliases"][0] if entry and entry.get("aliases") else field


def _value(field: str, value) -> str:
    if value is None:
        return "(trống)"
    if field == "poverty_category":
        return codelists.labels("poverty_category").get(value, value)
    if isinstance(value, bool) or field.startswith("d_"):
        return "thiếu hụt" if value in (True, "true") else "không thiếu hụt"
    if field == "income_per_capita":
        try:
            return f"{float(value):,.0f}".replace(",", ".") + " đ"
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def text(figures: dict) -> str:
    """What the person deciding reads (Markdown, Vietnamese first): how much changes, which households and
    fields, before → after, and that no answer in the waiting time is a Reject."""
    c = figures["households"]
    days = figures.get("wait_days")
    lines = [f"**Nguồn {figures['source_id']}** ({figures.get('district_name') or 'huyện ' + str(figures['district_code'] or '-')}): "
             f"lần chạy {figures['run_id']} sẽ thay đổi **{figures['affected']} / {figures['registry_households']} hộ "
             f"({100 * figures['share']:.1f}%)**, vượt ngưỡng {100 * figures['threshold']:.1f}%.",
             "",
             f"- mới: {c.get('new', 0)} · thay đổi: {c.get('changed', 0)} · chuyển nơi: {c.get('moved', 0)} · "
             f"không còn trong danh sách: {c.get('missing', 0)} · xung đột (giữ lại): {c.get('conflict', 0)} · "
             f"không đổi: {c.get('unchanged', 0)}"]
    if figures.get("changed_fields"):
        lines += ["", "Trường thay đổi (số hộ): " + ", ".join(
            f"{field_name(k)} {v}" for k, v in list(figures["changed_fields"].items())[:12])]
    examples = figures.get("examples") or []
    if examples:
        lines += ["", f"Các hộ thay đổi ({len(examples)} / {figures['affected']} hộ):", ""]
        for e in examples:
            values = e.get("changed_values") or {}
            parts = [f"{field_name(f)}: {_value(f, before)} → {_value(f, after)}" for f, (before, after) in values.items()]
            parts += [field_name(f) for f in e.get("changed_fields") or [] if f not in values]
            lines.append(f"- **{e['household_code']}** ({_OUTCOMES.get(e['outcome'], e['outcome'])})"
                         + (": " + "; ".join(parts) if parts else ""))
    lines += ["", "**Phê duyệt (Approve)** để tải vào MIS; **Từ chối (Reject)** để kết thúc, không tải gì. "
              + (f"Nếu không ai trả lời trong {days} ngày, lần chạy được coi là **Từ chối**: không tải gì."
                 if days else "Nếu không ai trả lời trong thời hạn, lần chạy được coi là **Từ chối**."),
              "",
              f"This run would change {100 * figures['share']:.1f}% of the district's households. Approve loads it; "
              "Reject, or no answer in the waiting time, loads nothing. `misgw runs show RUN --changes` lists every change."]
    return "\n".join(lines)


def approval_needed(run_id: str) -> dict | None:
    """The figures a person must see before this run loads, when it would change more of its district's
    households (changed, moved or missing) than its source allows; None when it may load at once.

    Small registries never wait: fewer than `approval_min_households` households affected is not a
    surprise. A dry run never waits: it loads nothing.
    """
    ctx = context(run_id)
    run, config, source = ctx.run, ctx.config, ctx.source
    counts = (run["reconcile"] or {}).get("households") or {}
    if run["dry_run"] or source.approval_share is None:
        return None
    affected = sum(counts.get(k, 0) for k in ("changed", "moved", "missing"))
    with db.get_engine().begin() as conn:
        registry = mis_reconcile.scope_size(conn, source.id, source.district_code)
        if not registry or affected < config.approval_min_households or affected / registry <= source.approval_share:
            return None
        figures = {"source_id": source.id, "district_code": source.district_code, "run_id": run_id,
                   "registry_households": registry, "affected": affected, "share": round(affected / registry, 4),
                   "threshold": source.approval_share, "households": counts,
                   "changed_fields": (run["reconcile"] or {}).get("changed_fields", {}),
                   "district_name": units.names(conn, [source.district_code]).get(source.district_code)
                   if source.district_code else None,
                   "examples": json.loads(json.dumps(mis_reconcile.change_examples(conn, run_id), default=str))}
        runs.update_run(conn, run_id, status="awaiting_approval", approval=figures)
    log.warning("[%s] this run would change %d of %d households (%.1f%%, more than %.1f%%): it waits for a person "
                "before loading", source.id, affected, registry, 100 * figures["share"], 100 * source.approval_share)
    return figures


def record_approval(run_id: str, answer: dict) -> None:
    """Keep a person's answer to an approval request on the run: which option, who, when."""
    user = answer.get("responded_by_user")
    record = {"chosen": list(answer.get("chosen_options") or []), "timed_out": bool(answer.get("timedout")),
              "by": (user.get("name") or user.get("id")) if isinstance(user, dict) else None,
              "at": str(answer.get("responded_at") or "")}
    with db.get_engine().begin() as conn:
        run = runs.get_run(conn, run_id)
        runs.update_run(conn, run_id, approval={**(run["approval"] or {}), "answer": record})
    log.info("approval of %s: %s by %s", run_id, record["chosen"], record["by"] or "nobody (timed out)")


def rejection_reason(run_id: str) -> str:
    with db.get_engine().connect() as conn:
        answer = (runs.get_run(conn, run_id)["approval"] or {}).get("answer") or {}
    if answer.get("timed_out") or not answer.get("chosen"):
        return "Not approved within the time allowed: nothing loaded."
    return f"Rejected at approval{' by ' + answer['by'] if answer.get('by') else ''}: nothing loaded."
