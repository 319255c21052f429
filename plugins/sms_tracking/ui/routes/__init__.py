"""Routers of the SMS Tracking app: HTML pages, the JSON API, files (static, Data Docs) and health."""

from __future__ import annotations
