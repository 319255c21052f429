"""The configuration files (sources, quality, qualification overrides) read into typed pydantic models.

The models live beside their readers (``config.SourcesFile``, ``quality.config.QualityFile``,
``pipeline.OverridesFile``).

One reader for the three: a mistake is reported as ``<file>: <entry #n (name)>: <field>: <what is wrong>``,
so the file, the entry and the field are named whatever the model that refused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def read_yaml(path: Path, model: type[Model], entries: Mapping[str, str] | None = None) -> Model:
    """``path`` parsed and checked by ``model``; ``entries`` maps a list field to how one entry is called
    (``{"sources": "source"}``), so an error names ``source #2 (twilio_api)``."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return validate(document, model, str(path), entries)


def validate(
    document: Any,
    model: type[Model],
    where: str,
    entries: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Model:
    """``document`` checked by ``model`` (its validators see ``context``); a ValueError names ``where``, the
    entry and the field."""
    try:
        return model.model_validate(document, context=context)
    except ValidationError as exc:
        raise ValueError("; ".join(describe(error, document, where, entries or {}) for error in exc.errors())) from None


def describe(error: Any, document: Any, where: str, entries: Mapping[str, str]) -> str:
    """One pydantic error as ``where: entry #n (name): field: message``."""
    loc = list(error["loc"])
    parts = [where]
    if len(loc) >= 2 and loc[0] in entries and isinstance(loc[1], int):
        index = loc[1]
        entry = _item(document, loc[0], index)
        name = entry.get("name") if isinstance(entry, Mapping) else None
        parts.append(f"{entries[loc[0]]} #{index + 1}" + (f" ({name})" if name else ""))
        loc = loc[2:]
    field = ".".join(str(part) for part in loc)
    message = _message(error)
    if error["type"] == "missing":
        parts.append(f"missing {field}")
    elif error["type"] == "extra_forbidden":
        parts.append(f"unknown key {field}")
    else:
        parts.append(f"{field}: {message}" if field else message)
    return ": ".join(parts)


def _message(error: Any) -> str:
    context = error.get("ctx") or {}
    if "error" in context:
        return str(context["error"])
    return f"{error['msg']} (found {error.get('input')!r})"


def _item(document: Any, key: str, index: int) -> Any:
    items = document.get(key) if isinstance(document, Mapping) else None
    return items[index] if isinstance(items, list) and index < len(items) else None
