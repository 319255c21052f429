"""The re-qualification DAG (Airflow): its definition is packaged in sms_tracking.dags.requalify."""

from __future__ import annotations

from sms_tracking.dags.requalify import requalify_dag

dag = requalify_dag()
