-- One PostgreSQL server, two databases: Airflow's metadata (and Celery's results), and the MIS.
CREATE DATABASE airflow;
CREATE DATABASE mis;
