"""The ingest DAGs (Airflow), one per source: their definitions are packaged in sms_tracking.dags.ingest."""

from __future__ import annotations

from sms_tracking.dags.ingest import ingest_dags

globals().update({dag.dag_id: dag for dag in ingest_dags()})
