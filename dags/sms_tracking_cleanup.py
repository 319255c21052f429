"""The cleanup DAG (Airflow): its definition is packaged in sms_tracking.dags.cleanup."""

from __future__ import annotations

from sms_tracking.dags.cleanup import cleanup_dag

dag = cleanup_dag()
