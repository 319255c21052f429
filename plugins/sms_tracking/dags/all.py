"""Every sms-tracking DAG, built on import: the one line a deployment's DAG file needs.

# Airflow DAGs of sms-tracking (Airflow only parses files that name both "airflow" and "dag")
from sms_tracking.dags.all import *  # noqa: F403
"""

from __future__ import annotations

from sms_tracking.dags.build import build_dag
from sms_tracking.dags.cleanup import cleanup_dag
from sms_tracking.dags.ingest import ingest_dags
from sms_tracking.dags.requalify import requalify_dag

_dags = [*ingest_dags(), build_dag(), requalify_dag(), cleanup_dag()]
globals().update({dag.dag_id: dag for dag in _dags})
__all__ = [dag.dag_id for dag in _dags]
