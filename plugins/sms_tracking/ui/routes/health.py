"""The one unauthenticated route: a liveness check that touches no database."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
