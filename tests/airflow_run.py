"""Run inside a subprocess whose environment points Airflow at a test home: parse the DAGs or test one."""
import json
import sys
import time

from airflow.dag_processing.dagbag import DagBag

started = time.monotonic()
bag = DagBag(dag_folder=sys.argv[2])
out = {"import_errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
       "parse_seconds": time.monotonic() - started,
       "dags": {d: {"tags": sorted(bag.dags[d].tags), "schedule": str(bag.dags[d].schedule),
                    "max_active_runs": bag.dags[d].max_active_runs,
                    "tasks": sorted(t.task_id for t in bag.dags[d].tasks),
                    "retries": bag.dags[d].default_args.get("retries")} for d in bag.dag_ids}}
if sys.argv[1] == "test":
    run = bag.get_dag(sys.argv[3]).test(run_conf=json.loads(sys.argv[4]) if len(sys.argv) > 4 else None)
    out["state"] = str(run.state)
    out["tasks"] = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps(out))
