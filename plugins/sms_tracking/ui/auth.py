"""Who is asking and what they may do: the only module that touches Airflow's API security internals.

Reading any page or API route needs an authenticated Airflow user with access to the PLUGINS view
(what the Airflow UI itself needs to show plugin menus). Managing quarantine and seeing unmasked
phone numbers needs permission to edit the tracking DAG (the ``manage_dag_id`` option, default
``sms_tracking_build``): with the SimpleAuthManager that is the ``user``, ``op`` and ``admin`` roles,
with the FAB auth manager the DAG's "can edit" permission. See docs/ui.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagDetails
from airflow.api_fastapi.core_api import security
from fastapi import Depends, HTTPException, status

from sms_tracking.settings import Settings, get_settings

get_user = security.get_user
"""Airflow's user dependency (bearer token, else the UI's ``_token`` cookie); tests override it."""

require_reader = security.requires_access_view(AccessView.PLUGINS)
"""Router-level dependency of every route but ``/health``: 401 anonymous, 403 without PLUGINS access."""


@dataclass(frozen=True)
class Viewer:
    """The caller as the pages need them: a name for the audit trail and two permissions."""

    username: str
    can_manage: bool
    mask_phones: bool


def may_manage(user: BaseUser, settings: Settings) -> bool:
    """Whether the user may edit the tracking DAG, which is what managing its quarantine means here."""
    manager = security.get_auth_manager()
    return bool(manager.is_authorized_dag(method="PUT", details=DagDetails(id=settings.manage_dag_id), user=user))


def get_viewer(user: Annotated[BaseUser, Depends(get_user)]) -> Viewer:
    settings = get_settings()
    can_manage = may_manage(user, settings)
    return Viewer(username=user.get_name(), can_manage=can_manage, mask_phones=settings.mask_phones and not can_manage)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def require_manager(viewer: ViewerDep) -> Viewer:
    """Write actions need the manage permission (that they are same-origin is checked for every route:
    ``sms_tracking.ui.security``)."""
    if not viewer.can_manage:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Managing quarantine needs permission to edit the DAG {get_settings().manage_dag_id!r}",
        )
    return viewer


ManagerDep = Annotated[Viewer, Depends(require_manager)]
