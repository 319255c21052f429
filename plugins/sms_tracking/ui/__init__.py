"""The SMS Tracking pages and JSON API, served inside the Airflow UI by the plugin's FastAPI app."""

from __future__ import annotations
