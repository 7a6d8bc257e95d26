"""The approval of a large load in Airflow: the operator that keeps a person's answer on the sync run, and the
notifier that tells the configured people a run waits for them."""
from __future__ import annotations

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import BaseNotifier


class ApprovalAlert(BaseNotifier):
    """Tells the configured people that a run waits for their approval (e-mail, webhook)."""

    def __init__(self, source_id: str, config_path: str):
        super().__init__()
        self.source_id = source_id
        self.config_path = config_path

    def notify(self, context) -> None:
        from misgw import alerts
        from misgw.config import load_config

        config = load_config(self.config_path)
        figures = context["ti"].xcom_pull(task_ids="brake", key="approval") or {}
        text = context["ti"].xcom_pull(task_ids="brake", key="approval_body") or ""
        dag_run = context["dag_run"]
        alerts.send(config.alerts, "awaiting_approval",
                    f"[MIS Gateway] {self.source_id}: lần chạy chờ phê duyệt / a run waits for approval", text,
                    {"source_id": self.source_id, "dag_id": dag_run.dag_id, "dag_run_id": dag_run.run_id,
                     "figures": figures})


class LoadApproval(ApprovalOperator):
    """The approval of a large load; the answer (who, when, which) is kept on the sync run for the record."""

    def execute_complete(self, context, event):
        if "error" not in event:
            from misgw.stages import approval

            approval.record_approval(context["ti"].xcom_pull(task_ids="start"), event)
        return super().execute_complete(context, event)
