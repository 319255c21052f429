"""The build DAG (Airflow): its definition is packaged in sms_tracking.dags.build."""

from __future__ import annotations

from sms_tracking.dags.build import build_dag

dag = build_dag()
