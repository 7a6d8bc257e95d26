"""The gateway inside Airflow: the DAGs it builds, its tasks' failure reasons, the approval operator and
notifier, the operator's page and the DAG run notes."""
