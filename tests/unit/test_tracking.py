"""Tracked-URL extraction, labels, opt-out links and the bot settings, without a database."""

from __future__ import annotations

import pytest

from sms_tracking import tracking
from sms_tracking.settings import Settings, get_settings
from sms_tracking.tracking import TrackedUrl, extract_urls


def urls(content: str) -> list[str]:
    return [u.url for u in extract_urls(content)]


def test_urls_with_a_scheme_are_found_without_trailing_punctuation() -> None:
    assert urls("Offres: https://shop.example.com/sale?c=spring. Vite!") == ["https://shop.example.com/sale?c=spring"]
    assert urls("(voir http://shop.example.com/a)") == ["http://shop.example.com/a"]
    assert urls("Wiki https://en.wikipedia.org/wiki/A_(b), end") == ["https://en.wikipedia.org/wiki/A_(b)"]


def test_short_links_and_urls_without_scheme_are_found() -> None:
    assert urls("Go bit.ly/3xYz! or t.co/Ab12, www.shop.fr and shop.example.com/p/4412?c=x") == [
        "bit.ly/3xYz",
        "t.co/Ab12",
        "www.shop.fr",
        "shop.example.com/p/4412?c=x",
    ]
    assert urls("Visit SHOP.COM today") == ["SHOP.COM"]


@pytest.mark.parametrize(
    "content",
    [
        "e.g. this, i.e. that",
        "Mr.Smith will call",
        "Ends today.We open at 10.30",
        "Version 2.0.1 is out",
        "Write to contact@shop.com",
        "Prix: 12,50 € TTC.",
    ],
)
def test_text_that_only_looks_like_a_domain_is_not_a_url(content: str) -> None:
    assert urls(content) == []


def test_every_occurrence_is_returned_in_order() -> None:
    # The build keeps the first of the spellings sms_tracking.url_key makes one (tests/integration).
    assert urls("https://a.com/x then a.com/x/ then http://www.a.com/x") == [
        "https://a.com/x",
        "a.com/x/",
        "http://www.a.com/x",
    ]


def test_each_url_is_labelled_by_the_words_before_it() -> None:
    found = extract_urls(
        "Good news! Your order is on its way 📦 Track it here: https://s.example.com/t "
        "Soldes -30% : https://s.example.com/s https://s.example.com/bare"
    )
    assert [(u.position, u.label) for u in found] == [
        (1, "Track it here"),
        (2, "Soldes -30%"),
        (3, "s.example.com/bare"),
    ]


def test_a_label_keeps_at_most_six_words() -> None:
    [found] = extract_urls("The item on your wishlist is back in stock: https://s.example.com/p")
    assert found.label == "your wishlist is back in stock"


@pytest.mark.parametrize(
    ("content", "opt_out"),
    [
        ("Unsubscribe: https://s.example.com/u?id=1", True),
        ("Se désabonner https://s.example.com/x", True),
        ("Abmelden: s.example.com/x", True),
        ("STOP SMS: https://s.example.com/x", True),
        ("Click https://s.example.com/opt-out/abc", True),
        ("Manage: https://s.example.com/unsubscribe?u=3", True),
        ("Track it here: https://s.example.com/track", False),
        ("Our stopwatch sale: https://s.example.com/watches", False),
    ],
)
def test_a_url_is_an_opt_out_link_when_its_label_or_path_says_so(content: str, opt_out: bool) -> None:
    [found] = extract_urls(content)
    assert found.is_opt_out is opt_out


def test_records_are_positioned_in_order_of_appearance() -> None:
    assert extract_urls("A https://x.com/1 B https://x.com/2") == [
        TrackedUrl(1, "https://x.com/1", "A", False),
        TrackedUrl(2, "https://x.com/2", "B", False),
    ]


def test_the_bot_list_names_the_documented_previews_and_no_generic_token() -> None:
    named = {
        "facebookexternalhit",
        "Twitterbot",
        "Slackbot",
        "WhatsApp",
        "TelegramBot",
        "Applebot",
        "Googlebot",
        "SkypeUriPreview",
        "Discordbot",
    }
    assert named <= set(tracking.BOT_USER_AGENTS)
    lowered = [token.lower() for token in tracking.BOT_USER_AGENTS]
    assert len(lowered) == len(set(lowered))
    assert "bot" not in lowered  # would flag phones such as the Cubot KingKong


def test_settings_default_to_two_seconds_and_seven_days() -> None:
    settings = Settings()
    assert (settings.bot_click_seconds, settings.opt_out_days) == (2.0, 7)
    params = tracking.build_params(settings)
    assert params["bot_click_seconds"] == 2.0
    assert "facebookexternalhit" in params["bot_user_agents"]
    assert all(token == token.lower() for token in params["bot_user_agents"])


def test_settings_come_from_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__BOT_CLICK_SECONDS", "1.5")
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__OPT_OUT_DAYS", "3")
    monkeypatch.setenv("AIRFLOW__SMS_TRACKING__BOT_USER_AGENTS", " AcmeScanner , ,Other/1")
    settings = get_settings()
    assert (settings.bot_click_seconds, settings.opt_out_days) == (1.5, 3)
    assert tracking.bot_user_agents(settings)[-2:] == ("AcmeScanner", "Other/1")
    assert tracking.build_params(settings)["bot_user_agents"][-2:] == ["acmescanner", "other/1"]
