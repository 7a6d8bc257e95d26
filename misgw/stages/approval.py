"""Approval of a large change: what the person deciding reads, with the households and fields in Vietnamese."""
from __future__ import annotations

from mappings import codelists
from mappings.vocabulary import vocabulary

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
