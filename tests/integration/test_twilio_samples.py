"""Twilio's own API fixtures, Airbyte's records and Fivetran's export, through load and build."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from tests.landing import run_all
from tests.project import SAMPLES

pytestmark = pytest.mark.integration

SOURCES = """sources:
  - {name: twilio_api, provider: twilio, format: twilio_json, path: reports/twilio_api}
  - {name: twilio_fivetran, provider: twilio, format: twilio_csv, path: reports/twilio_fivetran}
"""


def sids() -> list[tuple[str, str]]:
    """(sid, date_sent) of every outbound message of the three sample files."""
    found: dict[str, str] = {}
    for line in (SAMPLES / "twilio_api_examples" / "messages.jsonl").read_text().splitlines():
        message = json.loads(line)["message"]
        if message["direction"] != "inbound":
            found.setdefault(message["sid"], "2015-07-30T20:12:31Z")
    for line in (SAMPLES / "airbyte_source_twilio" / "messages.jsonl").read_text().splitlines():
        found.setdefault(json.loads(line)["data"]["sid"], "2023-02-14T14:03:12Z")
    with (SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv").open() as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["id"], "2023-05-09T23:17:40Z")
    return sorted(found.items())


@pytest.fixture
def landing(make_landing: Callable[..., Path]) -> Path:
    root = make_landing(sources=SOURCES)
    (root / "reports" / "twilio_api").mkdir(parents=True)
    (root / "reports" / "twilio_fivetran").mkdir(parents=True)
    (root / "sends").mkdir()
    shutil.copy(SAMPLES / "twilio_api_examples" / "messages.jsonl", root / "reports" / "twilio_api" / "fixtures.jsonl")
    shutil.copy(SAMPLES / "airbyte_source_twilio" / "messages.jsonl", root / "reports" / "twilio_api" / "airbyte.jsonl")
    shutil.copy(SAMPLES / "fivetran_twilio_seeds" / "twilio_message_data.csv",
                root / "reports" / "twilio_fivetran" / "message.csv")
    lines = ["delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments"]
    lines += [f"T1,r{i},+14155552345,twilio,{sid},{sent},1" for i, (sid, sent) in enumerate(sids())]
    (root / "sends" / "sends.csv").write_text("\n".join(lines) + "\n")
    return root


def test_twilio_samples_give_the_statuses_their_sources_show(dsn: str, landing: Path) -> None:
    for result in run_all(dsn, "samples", ("campaign", "twilio_api", "twilio_fivetran")):
        assert result["rows_rejected"] == 0, result
    with psycopg.connect(dsn) as conn:
        log = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT provider_message_id, status, failure_type, failure_reason, raw_status, price "
                "FROM sms_tracking.delivery_log"
            )
        }
        inbound = conn.execute(
            "SELECT provider_message_id, phone_e164, price, price_unit, error_code FROM sms_tracking.inbound_message"
        ).fetchall()
    # SMb7c0...: sent with 30007, then canceled an hour later: the final status wins.
    assert log["SMb7c0a2ce80504485a6f653a7110836f5"][:4] == ("failed", "Ignored", "Error ignored", "canceled")
    # Fivetran's ten rows are all delivered, with their price as a cost.
    fivetran = [v for k, v in log.items() if v[3] == "delivered"]
    assert len(fivetran) == 10 and {float(v[4]) for v in fivetran} == {0.0158}
    # Sent, queued and scheduled are intermediate: the message is still pending.
    assert log["SMded05904ccb347238880ca9264e8fe1c"][0] == "pending"
    assert all(v[0] == "pending" for k, v in log.items() if k.startswith("MMfba") or v[3] in ("sent", "scheduled"))
    # The inbound MMS of the fixtures is stored as an inbound message, not as a report.
    assert [row[0][:5] for row in inbound] == ["MMc26"]
    # It keeps its price (Twilio writes the cost negative) and its error code, so inbound spend is counted.
    assert [(str(row[2]), row[3], row[4]) for row in inbound] == [("0.00750", "USD", "30004")]
