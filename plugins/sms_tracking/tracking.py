"""Click tracking: the tracked URLs of a delivery's content and the rules that flag bot clicks.

URLs are found in the SMS text as written: with a scheme, starting with ``www.``, or a bare domain
such as ``bit.ly/3xYz`` or ``shop.example.com/sale``. Each gets a label (the words just before it)
and an opt-out flag. The build step ``include/sql/build/tracking.sql`` joins clicks to them and to
the delivery log, and flags probe clicks with the rules configured here (docs/tracking.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sms_tracking.settings import Settings

BOT_USER_AGENTS: tuple[str, ...] = (
    # Link previews of messaging and social apps
    "facebookexternalhit",
    "Facebot",
    "Twitterbot",
    "Slackbot",
    "WhatsApp",
    "TelegramBot",
    "Discordbot",
    "SkypeUriPreview",
    "LinkedInBot",
    "Pinterestbot",
    "redditbot",
    "Snap URL Preview",
    "Viber",
    "Iframely",
    "Embedly",
    "vkShare",
    "Mastodon",
    # Search engines and page renderers (Apple's previews run as Applebot)
    "Applebot",
    "Googlebot",
    "Google-PageRenderer",
    "Google-InspectionTool",
    "AdsBot-Google",
    "bingbot",
    "BingPreview",
    "YandexBot",
    "DuckDuckBot",
    "Baiduspider",
    # Security scanners and scripted clients
    "HeadlessChrome",
    "python-requests",
    "python-urllib",
    "curl/",
    "Wget",
    "Go-http-client",
    "okhttp",
    "Java/",
    "libwww-perl",
)
"""User-agent tokens of link previews, crawlers and scanners; a click whose User-Agent contains one
(case-insensitive) is a bot click. No generic ``bot`` token: it would match phones such as Cubot."""

OPT_OUT_WORDS: tuple[str, ...] = ("stop", "unsub", "optout", "opt-out", "opt out", "opt_out", "baja", "cancelar")
"""Whole words (accents removed, lower-case) that make a URL an opt-out link when its label or path has one."""

OPT_OUT_STEMS: tuple[str, ...] = ("unsubscri", "desabonn", "desinscri", "abmeld", "disiscri", "uitschrijv", "afmeld")
"""Word beginnings that do the same (unsubscribe, désabonnement, abmelden, disiscriviti, uitschrijven...)."""

COMMON_TLDS = frozenset(
    (
        "com",
        "net",
        "org",
        "info",
        "biz",
        "io",
        "co",
        "app",
        "dev",
        "me",
        "ly",
        "to",
        "gl",
        "gd",
        "ws",
        "cc",
        "tv",
        "fm",
        "link",
        "page",
        "site",
        "online",
        "shop",
        "store",
        "click",
        "eu",
        "fr",
        "de",
        "uk",
        "es",
        "it",
        "be",
        "nl",
        "ch",
        "at",
        "pt",
        "pl",
        "se",
        "dk",
        "no",
        "fi",
        "ie",
        "lu",
        "us",
        "ca",
        "au",
        "nz",
        "in",
        "br",
        "mx",
        "ar",
        "jp",
        "cn",
        "kr",
        "ru",
        "za",
        "ma",
        "tn",
        "sn",
        "ci",
        "cm",
        "dz",
        "ae",
        "sa",
        "tr",
        "gr",
        "cz",
        "sk",
        "hu",
        "ro",
        "bg",
        "hr",
        "si",
        "lt",
        "lv",
        "ee",
        "is",
        "gg",
        "je",
        "im",
    )
)
"""Top-level domains a bare domain (no scheme, no ``www.``, no path) must end with to count as a URL;
with a path any alphabetic TLD counts. Keeps ``e.g.`` and ``Mr.Smith`` out."""

LABEL_WORDS = 6
"""Most words of the text before a URL kept as its label."""

_CANDIDATE = re.compile(
    r"""(?P<url>
        (?:https?://|www\.)[^\s<>"]+
      | (?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,24})
        (?::\d{2,5})?(?P<path>[/?#][^\s<>"]*)?(?![\w@\-])
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING = ".,;:!?'\"»…’"
_BOUNDARY = re.compile(r"[\n\r]|[.!?:;](?:\s|$)|[^\w\s%€$£'’,.:\-+/&]")
_TAIL = re.compile(r"(?:[\s:;,.!?=>|\-–—→»·•]|[^\w\s%€$£'’,.:\-+/&])+$")
"""What ends the text before a URL without being part of its label: separators, punctuation, emoji."""


@dataclass(frozen=True, slots=True)
class TrackedUrl:
    """A URL found in a delivery's content."""

    position: int
    """1 for the first URL of the text, 2 for the next... A URL written twice appears twice: the build
    keeps its first occurrence (``sms_tracking.url_key`` says which spellings are one URL)."""
    url: str
    """As written in the text, trailing punctuation removed."""
    label: str
    is_opt_out: bool


def extract_urls(content: str) -> list[TrackedUrl]:
    """The URLs of an SMS text in order of appearance, each with its label and opt-out flag."""
    found: list[TrackedUrl] = []
    previous_end = 0
    for match in _CANDIDATE.finditer(content):
        url = _trim(match.group("url"))
        tld = match.group("tld")
        if tld is not None and not _plausible_bare_domain(url, tld, match.group("path")):
            continue
        start = match.start("url")
        label = _label(content[previous_end:start]) or _default_label(url)
        previous_end = start + len(url)
        found.append(TrackedUrl(len(found) + 1, url, label, is_opt_out(label, url)))
    return found


def is_opt_out(label: str, url: str) -> bool:
    """Whether the label or the URL's path names an opt-out (unsubscribe, STOP, désabonnement...)."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    text = _fold(f"{label} {parts.path} {parts.query}")
    return any(re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) for word in OPT_OUT_WORDS) or any(
        re.search(rf"(?<![a-z]){re.escape(stem)}", text) for stem in OPT_OUT_STEMS
    )


def _trim(url: str) -> str:
    """Drop punctuation that ends the sentence, not the URL; keep a ``)`` that closes a ``(`` of the URL."""
    while url:
        if url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")")) or url[-1] in "]}":
            url = url[:-1]
        else:
            break
    return url


def _plausible_bare_domain(url: str, tld: str, path: str | None) -> bool:
    if not (tld.islower() or tld.isupper()):
        return False  # "today.We": a sentence run together, not a domain
    return tld.lower() in COMMON_TLDS or bool(path and len(path) > 1)


def _label(before: str) -> str:
    """The words between the previous sentence break (or URL, or symbol such as an emoji) and the URL."""
    text = _TAIL.sub("", before)
    breaks = list(_BOUNDARY.finditer(text))
    if breaks:
        text = text[breaks[-1].end() :]
    words = text.split()
    return " ".join(words[-LABEL_WORDS:]).lstrip(",;").strip()


def _default_label(url: str) -> str:
    """A URL at the start of the text is labelled by its host and path."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return (parts.netloc.lower().removeprefix("www.") + parts.path).rstrip("/")


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


PROBE_METHODS: tuple[str, ...] = ("HEAD",)
"""HTTP methods that only probe a link (prefetchers, link checkers): a click with one is a bot's
(``head_request`` in build/tracking.sql; the UI's raw counts, ui/bots.py)."""


def bot_user_agents(settings: Settings) -> tuple[str, ...]:
    """The documented tokens plus the configured ``bot_user_agents``."""
    return BOT_USER_AGENTS + settings.bot_user_agents


def build_params(settings: Settings) -> dict[str, object]:
    """The named parameters the tracking and summary SQL take."""
    return {
        "bot_click_seconds": settings.bot_click_seconds,
        "bot_user_agents": [token.lower() for token in bot_user_agents(settings)],
        "probe_methods": list(PROBE_METHODS),
        "opt_out_days": settings.opt_out_days,
    }
