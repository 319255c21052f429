"""Deterministic generator of a landing folder (docs/input-contract.md) for demos, tests and benchmarks.

The same ``seed`` and sizes always give byte-identical files: all randomness comes from one
``random.Random(seed)`` and every time is an offset from a fixed base date, never the wall clock.
Rows are streamed: only one delivery's target list is held at a time, and report lines wait in a
small time-ordered buffer just until no earlier line can follow, so millions of messages fit in a
few tens of megabytes. Scale the number of messages (the number of deliveries grows with it), not
the size of a delivery.

The data exercises what the pipeline must handle: varied phone formats with empty, invalid and
duplicate numbers, intermediate and final reports, duplicates, late finals, orphans, a few
malformed lines (well under the default 5 % reject threshold), an unknown SMPP error code,
UCS-2 and multi-part contents, bot clicks and STOP replies.

CLI: ``python -m sms_tracking_dev.sample_data OUT [--messages N] [--seed S] [--deliveries D]``.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import io
import itertools
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from random import Random
from typing import TextIO
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from sms_tracking import segments

BASE = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
"""Time zero of the data set; every time below is whole seconds after it."""

CHUNK_LINES = 100_000
"""Most lines in one report file (``receipts-part-0001.txt``, ``-0002`` ...)."""

SMPP_TZ = ZoneInfo("Europe/Paris")
"""Zone of the ``smpp_main`` source (sources.yaml): receipt dates are written in its wall time."""

MALFORMED_EVERY = 400
"""One malformed line per this many good report lines (0.25 %), the first after half of it."""

KINDS = (
    "deliveries",
    "targets",
    "sends",
    "reports/smpp_main",
    "reports/twilio_callbacks",
    "reports/twilio_api",
    "clicks",
    "inbound",
)
"""Keys of the counts :func:`generate` returns: rows of the CSV kinds, lines of each report source."""

_REPORT_FILES = {
    "reports/smpp_main": "receipts-part-{:04d}.txt",
    "reports/twilio_callbacks": "callbacks-part-{:04d}.txt",
    "reports/twilio_api": "messages-{:04d}.jsonl",
}

_CSV_FILES = {
    "deliveries": (
        "deliveries/deliveries.csv",
        "delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof",
    ),
    "targets": ("targets/targets.csv", "delivery_id,recipient_id,phone"),
    "sends": (
        "sends/sends.csv",
        "delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments",
    ),
    "clicks": (
        "clicks/clicks.csv",
        "delivery_id,recipient_id,tracking_token,url,clicked_at,user_agent,method",
    ),
    "inbound": ("inbound/inbound.csv", "provider,provider_message_id,phone,recipient,text,received_at"),
}

_SENDERS = {"smpp": "36179", "twilio": "+447700900100"}
"""Short code of the French SMPP route and Twilio long code: what replies are sent to."""

_TEMPLATES: tuple[tuple[str, str], ...] = (
    (
        "Spring sale FR",
        "Soldes de printemps chez ShopEx : -30% sur tout le site jusqu'à dimanche minuit, livraison offerte "
        "dès 30€ avec le code PRINTEMPS. Découvrez les offres : https://shop.example.com/sale?c=spring "
        "STOP au 36179",
    ),
    (
        "Order shipped UK",
        "Good news! Your ShopEx order is on its way 📦 Track it here: https://shop.example.com/track?c=ship "
        "Reply STOP to opt out",
    ),
    (
        "Mother's Day FR",
        "Fête des mères : -20% sur les fleurs ce week-end https://shop.example.com/sale?c=meres",
    ),
    (
        "Appointment reminder UK",
        "Reminder: your appointment at ShopEx Covent Garden is tomorrow at 10:30. Reply C to confirm.",
    ),
    (
        "Loyalty points DE",
        "Hallo! Sie haben 250 Treuepunkte gesammelt. Jetzt einlösen: "
        "https://shop.example.com/loyalty?c=de250 Abmelden: STOP an 36179",
    ),
    (
        "Flash sale ES",
        "¡Venta flash! Hasta -50% solo hoy en https://shop.example.com/sale?c=flash Responde STOP",
    ),
    ("Pickup code FR", "Votre commande est prête. Code de retrait : 4821, valable 7 jours en magasin."),
    (
        "Back in stock",
        "The item on your wishlist is back in stock: https://shop.example.com/p/4412?c=restock",
    ),
)
"""(name, content) of deliveries, cycled; index 2 is the proof. URLs, UCS-2 and a >160-char text."""

PROOF_INDEX = 2

_URL = re.compile(r"https?://\S+")

_BROWSERS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
)
_BOTS = (
    "facebookexternalhit/1.1",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
)

_STOP_WORDS = ("STOP", "stop", "Stop", "Arret", "ARRET", "STOP ")
_FREE_TEXTS = ("Thanks!", "Merci", "Who is this?", "ok 👍", "Wrong number", "C")


def _mix(value: int, seed: int, salt: int) -> int:
    """A stable 64-bit hash (splitmix64) of a recipient number: per-profile traits without storing them."""
    z = (value * 0x9E3779B97F4A7C15 + seed * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def _perm(value: int, modulus: int, seed: int) -> int:
    """A bijection of ``range(modulus)`` (2_654_435_761 is a prime, coprime with every modulus used here)."""
    return (value * 2_654_435_761 + seed * 7919 + 12_345_678) % modulus


def _when(seconds: int) -> datetime:
    return BASE + timedelta(seconds=seconds)


def _iso(seconds: int) -> str:
    return _when(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact_utc(seconds: int) -> str:
    return _when(seconds).strftime("%y%m%d%H%M")


def _compact_paris(seconds: int) -> str:
    return _when(seconds).astimezone(SMPP_TZ).strftime("%y%m%d%H%M")


def _rfc2822(seconds: int) -> str:
    return format_datetime(_when(seconds))


_ROW_BUFFER = io.StringIO()
_ROW_WRITER = csv.writer(_ROW_BUFFER, lineterminator="\n")


def _csv_line(fields: Sequence[object]) -> str:
    """One CSV row as text (quoted as needed, ``\\n`` ended)."""
    _ROW_BUFFER.seek(0)
    _ROW_BUFFER.truncate()
    _ROW_WRITER.writerow(fields)
    return _ROW_BUFFER.getvalue()


class _Sink:
    """Lines of one kind, written in time order.

    Lines are pushed with their time and written by :meth:`release` once no earlier line can come,
    so only the lines of the current delivery and a few late ones are in memory. With a chunk
    pattern the output rolls over to a new file every :data:`CHUNK_LINES` lines.
    """

    def __init__(self, folder: Path, pattern: str, header: str | None = None, chunk_lines: int | None = None) -> None:
        self._folder = folder
        self._pattern = pattern
        self._header = header
        self._chunk_lines = chunk_lines
        self._heap: list[tuple[int, int, str]] = []
        self._seq = 0
        self._file: TextIO | None = None
        self._file_lines = 0
        self._parts = 0
        self.lines = 0

    def push(self, at: int, line: str) -> None:
        heapq.heappush(self._heap, (at, self._seq, line))
        self._seq += 1

    def release(self, until: int | None = None) -> None:
        """Write every waiting line older than ``until`` (all of them when None)."""
        heap = self._heap
        while heap and (until is None or heap[0][0] < until):
            self._write(heapq.heappop(heap)[2])

    def _write(self, line: str) -> None:
        if self._file is None or (self._chunk_lines is not None and self._file_lines >= self._chunk_lines):
            self._open()
        assert self._file is not None
        self._file.write(line if line.endswith("\n") else line + "\n")
        self._file_lines += 1
        self.lines += 1

    def _open(self) -> None:
        if self._file is not None:
            self._file.close()
        self._parts += 1
        name = self._pattern.format(self._parts) if self._chunk_lines is not None else self._pattern
        path = self._folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8", newline="")
        self._file_lines = 0
        if self._header is not None:
            self._file.write(self._header + "\n")

    def close(self) -> None:
        """Flush everything; a sink that got no line still leaves its (header-only or empty) first file."""
        self.release(None)
        if self._file is None:
            self._open()
        assert self._file is not None
        self._file.close()
        self._file = None


@dataclass(frozen=True, slots=True)
class _Delivery:
    index: int
    delivery_id: str
    name: str
    content: str
    provider: str
    sender: str
    created: int
    start: int
    window: int
    size: int
    is_proof: bool
    segments: int
    url: str | None
    decimal_ids: bool

    @property
    def text20(self) -> str:
        """The receipt's ``text:``: the first 20 characters of the content (trailing blanks trimmed)."""
        return self.content[:20].rstrip()


class _Generator:
    """One generation run: the random stream, id counters and the output sinks."""

    def __init__(self, out: Path, messages: int, seed: int, deliveries: int | None) -> None:
        if messages < 1:
            raise ValueError(f"messages must be at least 1, got {messages}")
        self.out = out
        self.messages = messages
        self.seed = seed
        self.rng = Random(seed)
        self.n_deliveries = deliveries if deliveries is not None else max(3, round(messages / 200))
        if self.n_deliveries < 1 or self.n_deliveries > messages:
            raise ValueError(f"deliveries must be between 1 and messages ({messages}), got {self.n_deliveries}")
        self.account_sid = "AC" + f"{self.rng.getrandbits(128):032x}"
        self.smpp_counter = 0
        self.orphan_counter = 0
        self.stop_counter = 0
        self.good_lines = dict.fromkeys(_REPORT_FILES, 0)
        self.sizes = self._sizes()
        self.pool = max(1000, messages // 2, int(max(self.sizes) * 1.3) + 100)
        self.reports = {
            kind: _Sink(out / kind, pattern, chunk_lines=CHUNK_LINES) for kind, pattern in _REPORT_FILES.items()
        }
        self.clicks = _Sink(out, *_CSV_FILES["clicks"])
        self.inbound = _Sink(out, *_CSV_FILES["inbound"])

    # ---- plan -------------------------------------------------------------------------------------

    def _sizes(self) -> list[int]:
        """Messages per delivery: the proof gets a handful, the others share the rest unevenly."""
        n = self.n_deliveries
        proof = max(1, min(5, self.messages // 20)) if n > PROOF_INDEX else 0
        rest = self.messages - proof
        others = n - (1 if proof else 0)
        weights = [self.rng.uniform(0.8, 1.2) for _ in range(others)]
        total = sum(weights)
        sizes: list[int] = []
        cumulative = 0.0
        previous = 0
        for i, weight in enumerate(weights):
            cumulative += weight
            # Each delivery keeps at least one message; rounding of the running sum hands out the rest.
            if i == others - 1:
                bound = rest
            else:
                bound = max(previous + 1, min(rest - (others - i - 1), round(cumulative / total * rest)))
            sizes.append(bound - previous)
            previous = bound
        if proof:
            sizes.insert(PROOF_INDEX, proof)
        return sizes

    def _delivery(self, index: int) -> _Delivery:
        n = self.n_deliveries
        per_day = max(1, math.ceil(n / 90))
        start = (index // per_day) * 86_400 + (index % per_day) * (12 * 3600 // per_day)
        size = self.sizes[index]
        template, cycle = index % len(_TEMPLATES), index // len(_TEMPLATES)
        name, content = _TEMPLATES[template]
        is_proof = index == PROOF_INDEX
        if is_proof:
            name = f"{name} (proof)"
        elif cycle:
            name = f"{name} #{cycle + 1}"
        provider = "smpp" if index % 2 == 0 else "twilio"
        url = _URL.search(content)
        return _Delivery(
            index=index,
            delivery_id=f"DEL-{index + 1:04d}",
            name=name,
            content=content,
            provider=provider,
            sender=_SENDERS[provider],
            created=start - self.rng.randint(5, 180) * 60,
            start=start,
            window=max(120, min(3600, size * 2)),
            size=size,
            is_proof=is_proof,
            segments=segments.profile(content).segments,
            url=url.group(0) if url else None,
            decimal_ids=provider == "smpp" and (index // 2) % 2 == 1,
        )

    # ---- recipients -------------------------------------------------------------------------------

    def _bucket(self, n: int) -> int:
        """Profile trait of recipient n, out of 10 000: <200 no phone, <300 invalid, <400 shares the phone of
        n-1, <1000 dead number (hard failure), <1100 opted out at Twilio (21610)."""
        return _mix(n, self.seed, 1) % 10_000

    def _is_sharer(self, n: int) -> bool:
        return 300 <= self._bucket(n) < 400 and n > 0 and self._bucket(n - 1) >= 400

    def _national(self, n: int) -> tuple[str, str]:
        """Country code and national number of recipient n: unique per recipient (bijections per country)."""
        country = _mix(n, self.seed, 2) % 100
        if country < 50:
            return "33", ("6" if country % 4 else "7") + f"{_perm(n, 10**8, self.seed):08d}"
        if country < 70:
            return "44", "77" + f"{_perm(n, 10**8, self.seed):08d}"
        if country < 80:
            return "49", "151" + f"{_perm(n, 10**8, self.seed):08d}"
        if country < 90:
            area = ("212", "415", "617", "312", "202", "305", "206", "512")[n % 8]
            return "1", area + str(2_000_000 + _perm(n, 8_000_000, self.seed))
        if country < 95:
            return "34", "6" + f"{_perm(n, 10**8, self.seed):08d}"
        return "32", "47" + f"{_perm(n, 10**7, self.seed):07d}"

    def _phone(self, n: int) -> tuple[str, str | None]:
        """(phone as stored in the profile, E.164) of recipient n; E.164 is None when it cannot be sent to."""
        bucket = self._bucket(n)
        if bucket < 200:
            return "", None
        if bucket < 300:
            return ("12", "+33 6 12", "n/a")[bucket % 3], None
        # A sharer has the number of n-1, usually written another way (same E.164, other raw text).
        cc, national = self._national(n - 1 if self._is_sharer(n) else n)
        e164 = f"+{cc}{national}"
        style = _mix(n, self.seed, 3) % 100
        if style < 45:
            raw = e164
        elif style < 60:
            if cc == "33":
                raw = f"+33 {national[0]} " + " ".join(national[i : i + 2] for i in range(1, 9, 2))
            else:
                raw = f"+{cc} {national[:4]} {national[4:]}"
        elif style < 70:
            raw = f"00{cc}{national}"
        elif style < 78:
            raw = f"{cc}{national}"
        elif style < 85:
            raw = f"whatsapp:{e164}"
        elif style < 93:
            raw = f"+{cc}-{national[:3]}-{national[3:6]}-{national[6:]}"
        else:
            raw = f"tel:{e164}"
        return raw, e164

    def _targets(self, size: int) -> list[tuple[int, bool]]:
        """Recipient numbers of one delivery, sorted, each with whether it is sent (``size`` are)."""
        rng = self.rng
        chosen: dict[int, bool] = {}
        sendable = 0
        candidates = rng.sample(range(self.pool), min(self.pool, size + size // 8 + 16))
        for n in itertools.chain(candidates, range(self.pool)):
            if sendable >= size:
                break
            if n in chosen:
                continue
            bucket = self._bucket(n)
            if bucket < 300:
                chosen[n] = False
            elif self._is_sharer(n):
                if n - 1 not in chosen:
                    chosen[n - 1] = True
                    sendable += 1
                chosen[n] = False  # same number as n-1, listed after it: excluded as a duplicate
            else:
                chosen[n] = True
                sendable += 1
        return sorted(chosen.items())

    # ---- ids --------------------------------------------------------------------------------------

    def _smpp_id(self, decimal: bool) -> str:
        """SUBMIT_SM_RESP ids: 10 upper-case hex digits, or 9 decimal digits on the second SMPP route."""
        counter = self.smpp_counter
        self.smpp_counter += 1
        if decimal:
            return str(100_000_000 + _perm(counter, 900_000_000, self.seed))
        return self._hex_id(counter)

    def _orphan_smpp_id(self) -> str:
        """An id of the hex form no send has: drawn from the upper half of the counter space."""
        counter = (1 << 39) + self.orphan_counter
        self.orphan_counter += 1
        return self._hex_id(counter)

    def _hex_id(self, counter: int) -> str:
        """An odd multiplier plus a constant is a bijection of 40-bit numbers: one id per counter."""
        return f"{(counter * 0x9E3779B97F4A7C15 + _mix(self.seed, 0, 5)) % (1 << 40):010X}"

    def _sid(self) -> str:
        return "SM" + f"{self.rng.getrandbits(128):032x}"

    # ---- reports ----------------------------------------------------------------------------------

    def _report(self, kind: str, at: int, line: str) -> None:
        """Push a good report line, and after every :data:`MALFORMED_EVERY` of them a broken copy of it."""
        self.reports[kind].push(at, line)
        self.good_lines[kind] += 1
        count = self.good_lines[kind]
        if count % MALFORMED_EVERY == MALFORMED_EVERY // 2:
            self.reports[kind].push(at, _malform(kind, line, count // MALFORMED_EVERY))

    def _receipt(self, d: _Delivery, pmid: str, submitted: int, done: int, stat: str, err: int, delivered: bool) -> str:
        return (
            f"id:{pmid} sub:{d.segments:03d} dlvrd:{d.segments if delivered else 0:03d} "
            f"submit date:{_compact_paris(submitted)} done date:{_compact_paris(done)} "
            f"stat:{stat} err:{err:03d} text:{d.text20}"
        )

    def _callback(self, d: _Delivery, sid: str, phone: str, status: str, error: str | None, done: int | None) -> str:
        params = [
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("AccountSid", self.account_sid),
            ("From", d.sender),
            ("To", phone),
            ("MessageStatus", status),
            ("SmsStatus", status),
        ]
        if error is not None:
            params.append(("ErrorCode", error))
        if done is not None:
            params.append(("RawDlrDoneDate", _compact_utc(done)))
        params.append(("ApiVersion", "2010-04-01"))
        # Only From and To need escaping (the '+'); the other values are ids, words and digits.
        return "&".join(f"{k}={quote_plus(v) if k in ('From', 'To') else v}" for k, v in params)

    def _api_message(
        self, d: _Delivery, sid: str, phone: str, submitted: int, status: str, error: str | None, updated: int
    ) -> str:
        """A Message resource as the REST API returns it (RFC 2822 dates, string num_segments and price)."""
        charged = status in ("delivered", "undelivered")
        price = f"-{0.0075 * d.segments:.5f}" if charged else None
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": d.content,
            "date_created": _rfc2822(submitted),
            "date_sent": _rfc2822(submitted + 1) if status != "queued" else None,
            "date_updated": _rfc2822(updated),
            "direction": "outbound-api",
            "error_code": int(error) if error is not None else None,
            "error_message": None,
            "from": d.sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(d.segments),
            "price": price,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "to": phone,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return json.dumps(message, ensure_ascii=False, separators=(", ", ": "))

    def _outcome(self, d: _Delivery, n: int) -> tuple[str, str, str | None, int]:
        """(class, final status, error code, seconds from submit to the final event) of one message.

        Class is delivered / hard / soft / optout / pending; pending has no final status ("").
        """
        rng = self.rng
        bucket = self._bucket(n)
        smpp = d.provider == "smpp"
        if smpp and self.smpp_counter % 1000 == 17:
            return "soft", "UNDELIV", "077", rng.randint(5, 60)  # an err no table knows: "to qualify"
        if 400 <= bucket < 1000:
            if smpp:
                return "hard", "UNDELIV", "005", rng.randint(2, 30)
            kind = _mix(n, self.seed, 4) % 10
            if kind < 6:
                return "hard", "undelivered", "30005", rng.randint(3, 60)
            return "hard", "failed", ("21211" if kind < 8 else "21614"), rng.randint(0, 2)
        if 1000 <= bucket < 1100 and not smpp:
            return "optout", "failed", "21610", rng.randint(0, 2)
        draw = rng.random()
        if draw < 0.032:
            soft = rng.random()
            if smpp:
                if soft < 0.4:
                    return "soft", "UNDELIV", "001", rng.randint(60, 1800)
                if soft < 0.7:
                    return "soft", "UNDELIV", "002", rng.randint(30, 600)
                return "soft", "EXPIRED", "000", rng.randint(24 * 3600, 48 * 3600)
            if soft < 0.6:
                return "soft", "undelivered", "30003", rng.randint(60, 3 * 3600)
            return "soft", "undelivered", "30008", rng.randint(5, 120)
        if draw < 0.052:
            return "pending", "", None, 0
        latency = 1 + int(rng.expovariate(1 / 8))
        if rng.random() < 0.05:
            latency += rng.randint(60, 1800)
        return "delivered", ("DELIVRD" if smpp else "delivered"), ("000" if smpp else None), latency

    def _message(self, d: _Delivery, n: int, pmid: str, phone: str, submitted: int) -> None:
        """All report lines of one message, and its clicks and replies when it was delivered."""
        rng = self.rng
        smpp = d.provider == "smpp"
        klass, status, error, latency = self._outcome(d, n)
        late = klass != "pending" and status != "failed" and rng.random() < 0.01
        if late:
            latency = rng.randint(2 * 3600, 3 * 86_400)
        done = submitted + latency
        intermediate = klass == "pending" or late or (status != "failed" and rng.random() < 0.5)
        if klass == "pending" and rng.random() < 0.5:
            intermediate = False  # pending with no report at all
        inter_at = submitted + min(rng.randint(1, 3), max(latency, 1))
        inter_status = None
        if intermediate:
            if smpp:
                inter_status = "ENROUTE" if rng.random() < 0.7 else "ACCEPTD"
                self._report(
                    "reports/smpp_main",
                    inter_at,
                    self._receipt(d, pmid, submitted, inter_at, inter_status, 0, False),
                )
            else:
                # Twilio calls back "queued" only for a message stuck before the carrier (pending here).
                inter_status = "queued" if klass == "pending" and rng.random() < 0.3 else "sent"
                self._report(
                    "reports/twilio_callbacks",
                    inter_at,
                    self._callback(d, pmid, phone, inter_status, None, None),
                )
        kind = "reports/smpp_main" if smpp else "reports/twilio_callbacks"
        if klass != "pending":
            if smpp:
                line = self._receipt(d, pmid, submitted, done, status, int(error or 0), klass == "delivered")
            else:
                line = self._callback(d, pmid, phone, status, error, done)
            self._report(kind, done, line)
            if rng.random() < 0.02:
                self.reports[kind].push(done + rng.randint(5, 600), line)  # provider retry: same line again
        if rng.random() < 0.005:
            self._orphan(d, submitted)
        if not smpp and (klass != "pending" or inter_status) and rng.random() < 0.2:
            api_status = status or str(inter_status)
            updated = done if klass != "pending" else inter_at
            self._report(
                "reports/twilio_api",
                updated + rng.randint(300, 3600),
                self._api_message(d, pmid, phone, submitted, api_status, error, updated),
            )
        if klass == "delivered":
            self._engagement(d, n, phone, done)

    def _orphan(self, d: _Delivery, around: int) -> None:
        """A report about a message we never sent (another platform's traffic, a purged send log)."""
        at = around + self.rng.randint(5, 120)
        if d.provider == "smpp":
            pmid = self._orphan_smpp_id()
            self.reports["reports/smpp_main"].push(at, self._receipt(d, pmid, around, at, "DELIVRD", 0, True))
        else:
            cc, national = self._national(self.pool + self.orphan_counter)
            self.orphan_counter += 1
            line = self._callback(d, self._sid(), f"+{cc}{national}", "delivered", None, at)
            self.reports["reports/twilio_callbacks"].push(at, line)

    # ---- engagement ------------------------------------------------------------------------------

    def _engagement(self, d: _Delivery, n: int, phone: str, delivered: int) -> None:
        """Clicks on the delivery's link (some by bots) and replies such as STOP."""
        rng = self.rng
        recipient = f"r{n + 1:06d}"
        if d.url is not None and rng.random() < 0.08:
            token = f"{rng.getrandbits(48):012x}"
            first = delivered + 10 + int(rng.expovariate(1 / 1800))
            if rng.random() < 0.1:
                first += rng.randint(3600, 2 * 86_400)
            times = [first]
            if rng.random() < 0.2:
                times.append(first + 10 + int(rng.expovariate(1 / 3600)))
            for at in times:
                user_agent, method = rng.choice(_BROWSERS), "GET"
                draw = rng.random()
                if draw < 0.04:
                    user_agent = rng.choice(_BOTS)
                elif draw < 0.07:
                    method = "HEAD"
                elif draw < 0.10:
                    at = delivered + rng.randint(0, 2)  # a link scanner: within 2 s of delivery
                line = _csv_line((d.delivery_id, recipient, token, d.url, _iso(at), user_agent, method))
                self.clicks.push(at, line)
        if rng.random() < 0.025:
            at = delivered + rng.randint(30, 6 * 3600)
            if rng.random() < 0.7:
                text = rng.choice(_STOP_WORDS)
                if self.stop_counter % 50 == 0:
                    self._reply(d, phone, "START", at + rng.randint(86_400, 3 * 86_400))
                self.stop_counter += 1
            else:
                text = rng.choice(_FREE_TEXTS)
            self._reply(d, phone, text, at)

    def _reply(self, d: _Delivery, phone: str, text: str, at: int) -> None:
        """An inbound row: Twilio gives a SID and E.164; an SMPP MO has no id and no '+' in source_addr."""
        if d.provider == "twilio":
            pmid, handset = self._sid(), phone
        else:
            pmid, handset = "", phone.removeprefix("+")
        self.inbound.push(at, _csv_line((d.provider, pmid, handset, d.sender, text, _iso(at))))

    # ---- run --------------------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        out = self.out
        files = {
            kind: (out / path).open("w", encoding="utf-8", newline="")
            for kind, (path, _) in _CSV_FILES.items()
            if kind in ("deliveries", "targets", "sends")
        }
        try:
            for kind, handle in files.items():
                handle.write(_CSV_FILES[kind][1] + "\n")
            plan = [self._delivery(i) for i in range(self.n_deliveries)]
            for d in plan:
                files["deliveries"].write(
                    _csv_line(
                        (
                            d.delivery_id,
                            d.name,
                            d.sender,
                            d.content,
                            d.provider,
                            _iso(d.created),
                            _iso(d.start),
                            "true" if d.is_proof else "false",
                        )
                    )
                )
                counts["deliveries"] += 1
            for index, d in enumerate(plan):
                targets = self._targets(d.size)
                sent = 0
                for n, is_sent in targets:
                    raw, e164 = self._phone(n)
                    files["targets"].write(_csv_line((d.delivery_id, f"r{n + 1:06d}", raw)))
                    counts["targets"] += 1
                    if not is_sent or e164 is None:
                        continue
                    submitted = d.start + sent * d.window // d.size
                    sent += 1
                    pmid = self._smpp_id(d.decimal_ids) if d.provider == "smpp" else self._sid()
                    files["sends"].write(
                        _csv_line(
                            (
                                d.delivery_id,
                                f"r{n + 1:06d}",
                                e164,
                                d.provider,
                                pmid,
                                _iso(submitted),
                                d.segments,
                            )
                        )
                    )
                    counts["sends"] += 1
                    self._message(d, n, pmid, e164, submitted)
                until = plan[index + 1].start if index + 1 < len(plan) else None
                for sink in (*self.reports.values(), self.clicks, self.inbound):
                    sink.release(until)
        finally:
            for handle in files.values():
                handle.close()
            for sink in (*self.reports.values(), self.clicks, self.inbound):
                sink.close()
        for kind, sink in self.reports.items():
            counts[kind] = sink.lines
        counts["clicks"] = self.clicks.lines
        counts["inbound"] = self.inbound.lines
        return counts


def _malform(kind: str, line: str, number: int) -> str:
    """A broken copy of a good report line, as a flaky gateway or a cut transfer leaves them."""
    if kind == "reports/smpp_main":
        if number % 2 == 0:
            return line[: line.index(" stat:") + 6]  # truncated: "id:… stat:" with no status
        return re.sub(r"done date:\d{10}", "done date:26O5", line)
    if kind == "reports/twilio_callbacks":
        if number % 2 == 1 and "RawDlrDoneDate=" in line:
            return re.sub(r"RawDlrDoneDate=\d{10}", "RawDlrDoneDate=2605", line)
        return line[: line.index("&MessageStatus")]
    return line[: len(line) // 2]  # a JSON object cut in the middle


def _clear(out: Path) -> None:
    """Remove the files an earlier run left (only ours), so fewer chunks this time leave no stale part."""
    for kind, pattern in _REPORT_FILES.items():
        for path in (out / kind).glob(pattern.replace("{:04d}", "*")):
            path.unlink()
    for path, _ in _CSV_FILES.values():
        (out / path).unlink(missing_ok=True)


def generate(out: Path, messages: int = 600, seed: int = 7, deliveries: int | None = None) -> dict[str, int]:
    """Write a landing folder under ``out`` and return the rows/lines written per kind (see :data:`KINDS`)."""
    out = Path(out)
    for folder in ("deliveries", "targets", "sends", "clicks", "inbound", *_REPORT_FILES):
        (out / folder).mkdir(parents=True, exist_ok=True)
    _clear(out)
    return _Generator(out, messages, seed, deliveries).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sms_tracking_dev.sample_data", description="Write a deterministic sample landing folder."
    )
    parser.add_argument("out", type=Path, help="landing folder to write (created if needed)")
    parser.add_argument("--messages", type=int, default=600, help="messages sent (rows of sends.csv); default 600")
    parser.add_argument("--seed", type=int, default=7, help="random seed; default 7")
    parser.add_argument("--deliveries", type=int, default=None, help="number of deliveries; default messages/200")
    args = parser.parse_args(argv)
    try:
        counts = generate(args.out, messages=args.messages, seed=args.seed, deliveries=args.deliveries)
    except ValueError as exc:
        parser.error(str(exc))
    for kind, count in counts.items():
        print(f"{kind}\t{count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
