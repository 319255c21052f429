"""A bounded memo for the values the load reads again and again (a phone number's E.164 form, an error code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """``function``'s value of each key met, read as ``memo[key]``: a hit is a dict's lookup, without a call of
    Python code. Faster than a dict read with ``get`` and a sentinel, and than an lru_cache, whose hits keep a
    list in use order (a million phone numbers: 0.21 against 0.30 and 0.70 µs a hit; a few dozen error codes:
    27 against 29 and 47 ns, issue 19). At most ``maxsize`` keys: when full, it starts again."""

    __slots__ = ("function", "maxsize")

    def __init__(self, function: Callable[[K], V], maxsize: int) -> None:
        super().__init__()
        self.function = function
        self.maxsize = maxsize

    def __missing__(self, key: K) -> V:
        if len(self) >= self.maxsize:
            self.clear()
        value = self[key] = self.function(key)
        return value
