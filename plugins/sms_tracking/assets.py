"""The Assets that connect the ingest DAGs to the build DAG."""

from __future__ import annotations

from airflow.sdk import Asset

REPORTS = Asset("sms_tracking_reports")
"""Updated when an ingest DAG loaded provider reports."""

CAMPAIGN = Asset("sms_tracking_campaign")
"""Updated when the sending system's files (deliveries, targets, send log, clicks, inbound) were loaded."""

DELIVERY_LOG = Asset("sms_tracking_delivery_log")
"""Updated when the build refreshed the delivery log and the summaries."""
