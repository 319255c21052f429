"""Test-only Airflow cluster policy, put on ``PYTHONPATH`` by ``test_reliability_airflow.py`` only.

The DAGs retry a failed task twice, 30 s or more apart. A fault test that wants to see the failed run
sets ``SMS_TRACKING_TEST_RETRIES=0`` (its retry is then a second run of the same DAG run, as an
operator's *clear* would do); one that wants Airflow's own retry keeps the retries and shortens the
wait with ``SMS_TRACKING_TEST_RETRY_DELAY`` (seconds). Without these variables nothing changes.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any


def task_policy(task: Any) -> None:
    retries = os.environ.get("SMS_TRACKING_TEST_RETRIES")
    if retries is not None:
        task.retries = int(retries)
    delay = os.environ.get("SMS_TRACKING_TEST_RETRY_DELAY")
    if delay is not None:
        task.retry_delay = timedelta(seconds=float(delay))
