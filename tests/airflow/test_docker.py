"""The scale-out files: what can be checked without a Docker engine (none runs on these machines)."""
from __future__ import annotations

import re

import yaml
from conftest import ROOT

DOCKER = ROOT / "docker"


def _packages() -> list[str]:
    lines = (DOCKER / "apt-packages.txt").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def test_the_compose_file_parses_into_a_celery_province():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "airflow-init", "api-server", "scheduler", "dag-processor",
                             "triggerer", "worker", "worker-heavy"}
    airflow = [s for name, s in services.items() if name not in ("postgres", "redis")]
    for service in airflow:                                   # one image, one configuration, for every component
        assert service["image"] == "misgw:latest" and service["build"]["dockerfile"] == "docker/Dockerfile"
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
        assert env["MISGW_DATABASE_URL"].endswith("@postgres/mis")
    assert {s["command"].split()[0] for s in airflow if isinstance(s["command"], str)} >= {
        "api-server", "scheduler", "dag-processor", "triggerer", "celery"}
    assert "--queues default" in services["worker"]["command"] and services["worker"]["deploy"]["replicas"] >= 2
    assert "heavy" in services["worker-heavy"]["command"]
    assert services["worker-heavy"]["deploy"]["resources"]["limits"]["memory"] > services["worker"]["deploy"][
        "resources"]["limits"]["memory"]
    assert "misgw airflow pools --apply" in services["airflow-init"]["command"]
    assert "CREATE DATABASE mis" in (DOCKER / "postgres-init.sql").read_text()


def test_the_image_installs_the_packages_the_readme_and_ci_install():
    packages = _packages()
    assert {"unixodbc", "odbc-mariadb", "odbc-postgresql", "odbc-mdbtools", "libsqliteodbc", "tdsodbc"} <= set(packages)
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "COPY docker/apt-packages.txt" in dockerfile and "xargs apt-get install" in dockerfile
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}", dockerfile, re.M)
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "docker/apt-packages.txt" in setup                 # CI installs the same list, through setup.sh
    sources_doc = (ROOT / "docs" / "sources.md").read_text()
    for package in packages:
        if package.startswith(("odbc-", "libsqliteodbc", "tdsodbc")):
            assert f"`{package}`" in sources_doc, f"the driver table of docs/sources.md lacks {package}"
    # The image's Airflow is the one pyproject asks for.
    version = re.search(r"ARG AIRFLOW_VERSION=(\S+)", dockerfile).group(1)
    assert re.search(r'"apache-airflow>=3\.3', (ROOT / "pyproject.toml").read_text()) and version.startswith("3.3")
