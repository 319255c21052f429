"""Tests of the sample landing generator.

The bundled sample data, the demos and the benchmarks all rely on it: it must be reproducible byte
for byte, follow the input contract (every file readable by the reader or adapter of its kind) and
stay under the reject threshold, at any size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from tests.project import PROJECT

from sms_tracking import segments
from sms_tracking.config import load_sources
from sms_tracking.contract import PARSERS, Delivery, Send, Target
from sms_tracking.reports import FORMATS
from sms_tracking.reports.base import ParseContext, Record, Reject, Report
from sms_tracking_dev import sample_data

BUNDLED = PROJECT / "include" / "sample_data" / "landing"
CSV_KINDS = ("deliveries", "targets", "sends", "clicks", "inbound")

T = TypeVar("T")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default data set (600 messages, seed 7), generated once for the read-only tests."""
    out = tmp_path_factory.mktemp("landing")
    sample_data.generate(out)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from enumerate(handle, 1)


def _read_csv(root: Path, kind: str) -> list[object]:
    ctx = ParseContext(source=kind, provider="")
    return [record for path in sorted((root / kind).glob("*.csv")) for record in PARSERS[kind](_lines(path), ctx)]


def _rows(root: Path, kind: str, cls: type[T]) -> list[T]:
    """The good rows of a CSV kind, typed."""
    return [record for record in _read_csv(root, kind) if isinstance(record, cls)]


def _read_reports(root: Path) -> dict[str, list[Record]]:
    """Every report file of each source of sources.yaml, read by the adapter of the source's format."""
    records: dict[str, list[Record]] = {}
    for source in load_sources():
        ctx = ParseContext(source=source.name, provider=source.provider, tz=source.zone, options=source.options)
        adapter = FORMATS[source.format].adapter()
        for path in sorted((root / source.path).iterdir()):
            records[str(path.relative_to(root))] = list(adapter(_lines(path), ctx))
    return records


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = sample_data.generate(tmp_path / "a", messages=600, seed=3)
    second = sample_data.generate(tmp_path / "b", messages=600, seed=3)
    assert first == second
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_other_seed_differs(tmp_path: Path) -> None:
    sample_data.generate(tmp_path / "a", messages=600, seed=3)
    sample_data.generate(tmp_path / "b", messages=600, seed=4)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first.keys() == second.keys()
    assert first["sends/sends.csv"] != second["sends/sends.csv"]
    assert first["reports/smpp_main/receipts-part-0001.txt"] != second["reports/smpp_main/receipts-part-0001.txt"]


def test_layout_follows_the_contract(landing: Path) -> None:
    assert set(_files(landing)) == {
        "deliveries/deliveries.csv",
        "targets/targets.csv",
        "sends/sends.csv",
        "clicks/clicks.csv",
        "inbound/inbound.csv",
        "reports/smpp_main/receipts-part-0001.txt",
        "reports/twilio_callbacks/callbacks-part-0001.txt",
        "reports/twilio_api/messages-0001.jsonl",
    }
    folders = {source.path for source in load_sources()}
    assert folders == {"reports/smpp_main", "reports/twilio_callbacks", "reports/twilio_api"}


def test_csv_kinds_parse_without_rejects(landing: Path) -> None:
    for kind in CSV_KINDS:
        records = _read_csv(landing, kind)
        assert records, kind
        assert [r for r in records if isinstance(r, Reject)] == [], kind


def test_sends_join_targets_and_resolve(landing: Path) -> None:
    sends = _rows(landing, "sends", Send)
    assert len(sends) == 600
    assert len({(s.provider, s.provider_message_id) for s in sends}) == len(sends)
    assert all(s.phone_e164 is not None for s in sends)
    targets = _rows(landing, "targets", Target)
    sent = {(s.delivery_id, s.recipient_id) for s in sends}
    excluded = [t for t in targets if (t.delivery_id, t.recipient_id) not in sent]
    assert sent <= {(t.delivery_id, t.recipient_id) for t in targets}
    # About 4 % of the target list is excluded: empty, invalid or duplicate numbers, and nothing else.
    assert 0.02 <= len(excluded) / len(targets) <= 0.07
    phones_sent = {(s.delivery_id, s.phone_e164) for s in sends}
    for target in excluded:
        assert target.phone_e164 is None or (target.delivery_id, target.phone_e164) in phones_sent
    assert any(t.phone_raw is None for t in excluded)  # empty
    assert any(t.phone_raw is not None and t.phone_e164 is None for t in excluded)  # invalid
    assert any(t.phone_e164 is not None for t in excluded)  # duplicate


def test_deliveries_cover_the_cases(landing: Path) -> None:
    deliveries = _rows(landing, "deliveries", Delivery)
    assert len(deliveries) == 3
    assert [d.is_proof for d in deliveries].count(True) == 1
    assert {d.provider for d in deliveries} == {"smpp", "twilio"}
    contents = [d.content for d in deliveries]
    assert any("https://shop.example.com/" in c for c in contents)
    assert any(len(c) > 160 for c in contents)
    assert any(segments.profile(c).encoding == segments.UCS2 for c in contents)


def test_reports_parse_with_their_adapter_under_one_percent_rejects(landing: Path) -> None:
    sends = {(s.provider, s.provider_message_id) for s in _rows(landing, "sends", Send)}
    by_file = _read_reports(landing)
    assert len(by_file) == 3
    total_rejects = 0
    for name, records in by_file.items():
        rejects = [r for r in records if isinstance(r, Reject)]
        reports = [r for r in records if isinstance(r, Report)]
        assert reports, name
        assert len(rejects) / len(records) < 0.01, (name, [r.reason for r in rejects])
        total_rejects += len(rejects)
        joined = sum((r.provider, r.provider_message_id) in sends for r in reports)
        assert joined / len(reports) > 0.98, name
    assert total_rejects >= 2  # the malformed lines are there to be rejected
    smpp = [r for r in by_file["reports/smpp_main/receipts-part-0001.txt"] if isinstance(r, Report)]
    assert {(r.raw_status, r.error_code) for r in smpp} >= {
        ("DELIVRD", "0"),
        ("ENROUTE", "0"),
        ("UNDELIV", "5"),
        ("UNDELIV", "77"),
    }
    orphans = [r for r in smpp if (r.provider, r.provider_message_id) not in sends]
    assert orphans


def test_smpp_dates_are_paris_wall_time(landing: Path) -> None:
    with (landing / "sends" / "sends.csv").open(encoding="utf-8", newline="") as handle:
        first = next(row for row in csv.DictReader(handle) if row["provider"] == "smpp")
    receipt = next(
        line
        for _, line in _lines(landing / "reports" / "smpp_main" / "receipts-part-0001.txt")
        if line.startswith(f"id:{first['provider_message_id']} ")
    )
    # 2026-05-04T08:00:00Z is 10:00 in Paris (CEST, UTC+2).
    assert first["submitted_at"] == "2026-05-04T08:00:00Z"
    assert "submit date:2605041000 " in receipt


def test_counts_scale_with_messages(tmp_path: Path) -> None:
    small = sample_data.generate(tmp_path / "small", messages=600)
    large = sample_data.generate(tmp_path / "large", messages=2000)
    assert small["sends"] == 600 and large["sends"] == 2000
    assert large["deliveries"] == 10
    for kind in ("targets", "reports/smpp_main", "reports/twilio_callbacks", "reports/twilio_api", "clicks"):
        assert 2 * small[kind] < large[kind], kind
    records = _read_reports(tmp_path / "large")
    for name, items in records.items():
        assert sum(isinstance(r, Reject) for r in items) / len(items) < 0.01, name


def test_reports_roll_over_to_new_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sample_data, "CHUNK_LINES", 100)
    counts = sample_data.generate(tmp_path, messages=600)
    parts = sorted((tmp_path / "reports" / "smpp_main").iterdir())
    assert len(parts) == -(-counts["reports/smpp_main"] // 100)
    assert parts[1].name == "receipts-part-0002.txt"
    assert all(len(p.read_text(encoding="utf-8").splitlines()) <= 100 for p in parts)
    # A later run with fewer parts leaves no stale part behind.
    monkeypatch.setattr(sample_data, "CHUNK_LINES", 100_000)
    sample_data.generate(tmp_path, messages=600)
    assert [p.name for p in (tmp_path / "reports" / "smpp_main").iterdir()] == ["receipts-part-0001.txt"]


def test_cli_writes_and_prints_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sample_data.main([str(tmp_path), "--messages", "100", "--seed", "1"]) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.splitlines())
    assert printed["sends"] == "100"
    assert (tmp_path / "sends" / "sends.csv").read_text(encoding="utf-8").count("\n") == 101


def test_bundled_sample_data_matches_the_generator(tmp_path: Path) -> None:
    """include/sample_data/landing is the generator output for 600 messages, seed 7 (see its README)."""
    sample_data.generate(tmp_path, messages=600, seed=7)
    assert _files(BUNDLED) == _files(tmp_path)
