"""The HTTP server the fake provider APIs share: a thread on 127.0.0.1, a random port, fault injection.

Faults are queued and each one answers one request, in order, before the provider logic runs
(``slow`` then answers normally, as a congested network would) or after it (``truncated`` cuts the
provider's real answer in half, so what the provider did, such as Infobip handing reports out, is done).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Fault:
    """One injected failure: ``status`` (429, 500, ...) with its headers, ``slow``, ``truncated``, or ``none``."""

    kind: str
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Request:
    """A request the fake received, for assertions."""

    at: float
    path: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str]


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeApi:
    """Base of the fakes: subclasses implement :meth:`answer`."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- fault injection -------------------------------------------------------------------------
    def ok(self, times: int = 1) -> None:
        """Answer the next ``times`` requests normally: faults queued after this hit later requests."""
        self.faults.extend(Fault("none") for _ in range(times))

    def rate_limit(self, times: int = 1, retry_after: str | None = "1") -> None:
        """Answer 429 Too Many Requests ``times`` times, with ``Retry-After`` unless None."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.extend(Fault("status", 429, headers) for _ in range(times))

    def server_error(self, times: int = 1, status: int = 500) -> None:
        self.faults.extend(Fault("status", status) for _ in range(times))

    def slow(self, seconds: float, times: int = 1) -> None:
        """Wait ``seconds`` before answering (beyond the client's timeout, it sees no answer)."""
        self.faults.extend(Fault("slow", seconds=seconds) for _ in range(times))

    def truncate(self, times: int = 1) -> None:
        """Answer 200 with the first half of the real JSON body (Content-Length matching the cut body)."""
        self.faults.extend(Fault("truncated") for _ in range(times))

    # -- provider side ---------------------------------------------------------------------------
    def answer(self, path: str, params: list[tuple[str, str]], headers: dict[str, str]) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int) -> bytes:
        return b'{"status": %d}' % status

    def _respond(self, path: str, query: str, headers: dict[str, str]) -> Answer:
        params = parse_qsl(query, keep_blank_values=True)
        with self._lock:
            self.requests.append(Request(time.monotonic(), path, tuple(params), headers))
            fault = self.faults.popleft() if self.faults else None
        if fault and fault.kind == "status":
            return Answer(fault.status, self.error_body(fault.status), fault.headers)
        if fault and fault.kind == "slow":
            time.sleep(fault.seconds)
        with self._lock:
            answer = self.answer(path, params, headers)
        if fault and fault.kind == "truncated" and answer.status == 200:
            answer = Answer(200, answer.body[: max(1, len(answer.body) // 2)], answer.headers)
        return answer

    # -- server ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "the fake is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                answer = fake._respond(parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()})
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(answer.body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a slow fault)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def running(self) -> Iterator[FakeApi]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
