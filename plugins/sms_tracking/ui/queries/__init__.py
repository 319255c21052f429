"""The data of every page, read from Postgres with the files in ``include/sql/ui``.

Each function takes an open :class:`Reader` and the :class:`~sms_tracking.ui.auth.Viewer`, returns
response models, and masks phone numbers for viewers who may not see them. One module per page or
tab; :mod:`.base` holds what they share. The names below are what the routes use.
"""

from __future__ import annotations

from sms_tracking.ui.queries.base import Conflict, Invalid, NotFound, Reader, open_reader
from sms_tracking.ui.queries.deliveries import deliveries, delivery_choices
from sms_tracking.ui.queries.delivery import audit, delivery_header, sms_content
from sms_tracking.ui.queries.delivery_log import delivery_log, failure_reasons
from sms_tracking.ui.queries.exclusions import exclusions
from sms_tracking.ui.queries.qualification import (
    EDIT_STATES,
    Edit,
    RowKey,
    changes,
    edit_qualification,
    qualification,
    qualification_detail,
    qualification_providers,
)
from sms_tracking.ui.queries.quality import quality
from sms_tracking.ui.queries.quarantine import (
    QUARANTINE_ACTIONS,
    bulk_targets,
    change_quarantine,
    change_quarantine_bulk,
    number_history,
    quarantine,
    status_counts,
)
from sms_tracking.ui.queries.summary import BREAKDOWNS, delivery_summary
from sms_tracking.ui.queries.tracking import tracking

__all__ = [
    "BREAKDOWNS",
    "EDIT_STATES",
    "QUARANTINE_ACTIONS",
    "Conflict",
    "Edit",
    "Invalid",
    "NotFound",
    "Reader",
    "RowKey",
    "audit",
    "bulk_targets",
    "change_quarantine",
    "change_quarantine_bulk",
    "changes",
    "deliveries",
    "delivery_choices",
    "delivery_header",
    "delivery_log",
    "delivery_summary",
    "edit_qualification",
    "exclusions",
    "failure_reasons",
    "number_history",
    "open_reader",
    "qualification",
    "qualification_detail",
    "qualification_providers",
    "quality",
    "quarantine",
    "sms_content",
    "status_counts",
    "tracking",
]
