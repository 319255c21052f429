"""The BI contract on a real Postgres: the read-only role reads every view and writes nothing, every
column is commented and documented, and the privacy setting hides numbers behind a salted hash."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from tests.landing import prepare, run_all
from tests.project import PROJECT

from sms_tracking import db

pytestmark = pytest.mark.integration

READER = "sms_tracking_bi_reader"
PASSWORD = "bi-test-password"
ROLE_SCRIPT = "bi/readonly_role.sql"
DICTIONARY = PROJECT / "docs" / "bi.md"

DELIVERIES = """delivery_id,name,sender,content,provider,created_at,scheduled_at,is_proof
D1,Spring sale,SHOP,Sale today https://shop.example.com/s,smpp,2026-05-04T08:00:00Z,2026-05-04T08:00:00Z,false
D2,Twilio promo,+15550100,Hello,twilio,2026-05-04T09:00:00Z,,false
P1,Proof,SHOP,Proof text,smpp,2026-05-03T10:00:00Z,,true
"""
TARGETS = """delivery_id,recipient_id,phone
D1,r1,+33612345678
D1,r2,+33612345679
D1,r3,+33612345680
D1,r8,
D1,r9,06 12 34 56 78
"""
SENDS = """delivery_id,recipient_id,phone,provider,provider_message_id,submitted_at,segments
D1,r1,+33612345678,smpp,A1,2026-05-04T08:00:00Z,1
D1,r2,+33612345679,smpp,A2,2026-05-04T08:00:01Z,1
D1,r3,+33612345680,smpp,A3,2026-05-04T08:00:02Z,1
D2,r5,+15550199,twilio,SM1,2026-05-04T09:00:00Z,1
D2,r6,+15550198,twilio,SM2,2026-05-04T09:00:00Z,1
P1,p1,+33699999999,smpp,PA1,2026-05-03T10:00:00Z,1
"""
SMPP = """id:A1 sub:001 dlvrd:001 submit date:2605041000 done date:2605041012 stat:DELIVRD err:000 text:Sale today
id:A2 sub:001 dlvrd:000 submit date:2605041000 done date:2605041005 stat:UNDELIV err:005 text:Sale today
id:A3 sub:001 dlvrd:000 submit date:2605041000 done date:2605041002 stat:ENROUTE err:000 text:Sale today
id:PA1 sub:001 dlvrd:001 submit date:2605031200 done date:2605031201 stat:DELIVRD err:000 text:Proof text
"""
TWILIO = """MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30005&To=%2B15550199&RawDlrDoneDate=2605040905
MessageSid=SM2&MessageStatus=delivered&To=%2B15550198&RawDlrDoneDate=2605040903
"""
NUMBERS = ("+33612345678", "+33612345679", "+33612345680", "+15550199", "+15550198", "+33699999999")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _database_dsn(server: str, name: str, **changes: str) -> str:
    params = {**conninfo_to_dict(server), "dbname": name, **changes}
    return make_conninfo(**params)


def _admin(server: str, statement: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def apply_role(dsn: str, password: str | None = None, conn: psycopg.Connection[Any] | None = None) -> None:
    """Run the role script the way the docs say: the password variable set in the session, if any."""
    if conn is None:
        with psycopg.connect(dsn) as own:
            apply_role(dsn, password, own)
        return
    if password is not None:
        conn.execute("SELECT set_config('sms_tracking.bi_password', %s, false)", (password,))
    db.run_sql_file(conn, ROLE_SCRIPT)


@pytest.fixture(scope="module")
def bi_dsn(postgres_server: str, template_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database for the module: the pipeline run on a tiny landing, then the role script applied."""
    name = f"sms_bi_{os.getpid()}"
    template = conninfo_to_dict(template_dsn)["dbname"]
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(postgres_server, f"CREATE DATABASE {name} TEMPLATE {template}")
    dsn = _database_dsn(postgres_server, name)
    with pytest.MonkeyPatch.context() as patch:
        prepare(
            patch,
            tmp_path_factory.mktemp("bi"),
            {
                "deliveries/deliveries.csv": DELIVERIES,
                "targets/targets.csv": TARGETS,
                "sends/sends.csv": SENDS,
                "reports/smpp_main/r1.txt": SMPP,
                "reports/twilio_callbacks/c1.txt": TWILIO,
            },
        )
        run_all(dsn, "bi-test", ("campaign", "smpp_main", "twilio_callbacks"))
    with psycopg.connect(dsn) as conn:
        existed = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone() is not None
    apply_role(dsn, PASSWORD)
    yield dsn
    _admin(postgres_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if not existed:
        # Another database of this server may have granted it something: then it stays for that one.
        with contextlib.suppress(psycopg.errors.DependentObjectsStillExist):
            _admin(postgres_server, f"DROP ROLE IF EXISTS {READER}")


@contextmanager
def reader(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A session logged in as the BI role with the password the script set."""
    with psycopg.connect(
        _database_dsn(dsn, conninfo_to_dict(dsn)["dbname"], user=READER, password=PASSWORD), autocommit=True
    ) as conn:
        yield conn


def views(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'sms_tracking_bi' ORDER BY 1"
            ).fetchall()
        ]


def view_columns(dsn: str) -> dict[str, list[tuple[str, str | None]]]:
    """Each view's columns with their comment, in column order."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """SELECT c.relname, a.attname, col_description(c.oid, a.attnum)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE n.nspname = 'sms_tracking_bi' AND c.relkind = 'v'
                ORDER BY c.relname, a.attnum"""
        ).fetchall()
    found: dict[str, list[tuple[str, str | None]]] = {}
    for view, column, comment in rows:
        found.setdefault(view, []).append((column, comment))
    return found


def tracking_tables(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'sms_tracking' ORDER BY 1"
            ).fetchall()
        ]


def refusal(conn: psycopg.Connection[Any], statement: sql.Composable | str) -> str | None:
    """``denied`` when Postgres refuses for lack of privilege (42501), the error's name for another refusal,
    None when the statement ran."""
    try:
        conn.execute(statement)  # type: ignore[arg-type]
    except psycopg.errors.InsufficientPrivilege:
        return "denied"
    except psycopg.Error as exc:
        return type(exc).__name__
    return None


def denied(conn: psycopg.Connection[Any], statement: sql.Composable | str) -> bool:
    return refusal(conn, statement) == "denied"


def test_reader_logs_in_and_selects_from_every_view(bi_dsn: str) -> None:
    names = views(bi_dsn)
    assert {"delivery_kpi", "delivery_log", "quarantine", "exclusion"} <= set(names)
    counts = {}
    with reader(bi_dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (READER,)
        for name in names:
            counts[name] = len(
                conn.execute(
                    sql.SQL("SELECT * FROM sms_tracking_bi.{} LIMIT 50").format(sql.Identifier(name))
                ).fetchall()
            )
    assert counts["delivery_kpi"] == 2  # D1 and D2; the proof is only in proof_delivery
    assert counts["proof_delivery"] == 1
    assert counts["delivery_log"] == 5
    assert counts["quarantine"] >= 1 and counts["exclusion"] >= 1


def test_reader_sessions_are_read_only_and_start_in_the_bi_schema(bi_dsn: str) -> None:
    with reader(bi_dsn) as conn:
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SELECT count(*) FROM delivery_kpi").fetchone() == (2,)


def test_reader_holds_select_and_nothing_else_on_every_view(bi_dsn: str) -> None:
    with psycopg.connect(bi_dsn) as conn:
        rows = conn.execute(
            """SELECT v.table_name, p.privilege, has_table_privilege(%s, format('sms_tracking_bi.%%I', v.table_name),
                                                                     p.privilege)
                 FROM information_schema.views v
                CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                                        'TRIGGER']) AS p(privilege)
                WHERE v.table_schema = 'sms_tracking_bi'""",
            (READER,),
        ).fetchall()
    assert rows
    assert [(view, privilege) for view, privilege, held in rows if held != (privilege == "SELECT")] == []


def test_reader_cannot_write_any_view_even_in_a_read_write_session(bi_dsn: str) -> None:
    with psycopg.connect(bi_dsn) as conn:
        updatable = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'sms_tracking_bi' "
                "AND (is_updatable = 'YES' OR is_insertable_into = 'YES')"
            ).fetchall()
        }
    assert "daily_provider" in updatable  # a single-table view: Postgres would write through it
    wrong = []
    with reader(bi_dsn) as conn:
        conn.execute("SET default_transaction_read_only = off")  # privileges are the guard, not the default
        for view, cols in view_columns(bi_dsn).items():
            target = sql.Identifier("sms_tracking_bi", view)
            first = sql.Identifier(cols[0][0])
            for statement in (
                sql.SQL("INSERT INTO {} DEFAULT VALUES").format(target),
                sql.SQL("UPDATE {} SET {} = {}").format(target, first, first),
                sql.SQL("DELETE FROM {}").format(target),
            ):
                outcome = refusal(conn, statement)
                # A view over a join is not writable by anyone; a single-table one must be refused on privilege.
                if outcome is None or (view in updatable and outcome != "denied"):
                    wrong.append((statement.as_string(conn), outcome))
            for statement in (
                sql.SQL("DROP VIEW {}").format(target),
                sql.SQL("ALTER VIEW {} RENAME TO hijacked").format(target),
                sql.SQL("COMMENT ON VIEW {} IS 'changed'").format(target),
            ):
                if (outcome := refusal(conn, statement)) != "denied":
                    wrong.append((statement.as_string(conn), outcome))
    assert wrong == []


def test_reader_cannot_read_or_write_the_tracking_tables(bi_dsn: str) -> None:
    tables = tracking_tables(bi_dsn)
    assert {"report", "delivery_log", "bi_setting"} <= set(tables)
    allowed = []
    with reader(bi_dsn) as conn:
        conn.execute("SET default_transaction_read_only = off")
        for table in tables:
            target = sql.Identifier("sms_tracking", table)
            for statement in (
                sql.SQL("SELECT * FROM {} LIMIT 1").format(target),
                sql.SQL("INSERT INTO {} DEFAULT VALUES").format(target),
                sql.SQL("UPDATE {} SET ctid = ctid").format(target),
                sql.SQL("DELETE FROM {}").format(target),
                sql.SQL("TRUNCATE {}").format(target),
            ):
                if not denied(conn, statement):
                    allowed.append(statement.as_string(conn))
    assert allowed == []


def test_reader_cannot_create_anything(bi_dsn: str) -> None:
    with reader(bi_dsn) as conn:
        conn.execute("SET default_transaction_read_only = off")
        version = conn.execute("SHOW server_version_num").fetchone()[0]  # type: ignore[index]
        statements = [
            "CREATE TABLE sms_tracking_bi.mine (a int)",
            "CREATE VIEW sms_tracking_bi.mine AS SELECT 1 AS a",
            "CREATE FUNCTION sms_tracking_bi.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "CREATE TABLE sms_tracking.mine (a int)",
            "CREATE SCHEMA mine",
            "ALTER SCHEMA sms_tracking_bi RENAME TO mine",
        ]
        if int(version) >= 150000:  # before 15 every role may create in schema public (a server default)
            statements.append("CREATE TABLE public.mine (a int)")
        assert [s for s in statements if not denied(conn, s)] == []


def test_the_script_is_rerunnable_and_keeps_the_login(bi_dsn: str) -> None:
    apply_role(bi_dsn)  # no password variable: an existing role keeps its login and password
    with psycopg.connect(bi_dsn) as conn:
        row = conn.execute(
            "SELECT rolcanlogin, rolpassword IS NOT NULL, rolsuper, rolcreaterole, rolcreatedb "
            "FROM pg_authid WHERE rolname = %s",
            (READER,),
        ).fetchone()
    assert row == (True, True, False, False, False)
    with reader(bi_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM delivery_log").fetchone() == (5,)


def test_without_the_password_variable_a_new_role_cannot_log_in(bi_dsn: str) -> None:
    with psycopg.connect(bi_dsn) as conn:  # all in one transaction, rolled back: the module's role survives
        conn.execute(f"DROP OWNED BY {READER}")  # type: ignore[arg-type]
        conn.execute(f"DROP ROLE {READER}")  # type: ignore[arg-type]
        apply_role(bi_dsn, conn=conn)
        row = conn.execute("SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = %s", (READER,)).fetchone()
        granted = conn.execute(
            "SELECT has_table_privilege(%s, 'sms_tracking_bi.delivery_kpi', 'SELECT')", (READER,)
        ).fetchone()
        conn.rollback()
    assert row == (False, None)
    assert granted == (True,)


def test_views_a_later_migration_adds_are_readable_without_rerunning_the_script(bi_dsn: str) -> None:
    with psycopg.connect(bi_dsn) as conn:
        conn.execute("CREATE VIEW sms_tracking_bi.later_view AS SELECT 1 AS a")
        conn.execute(f"SET LOCAL ROLE {READER}")  # type: ignore[arg-type]
        assert conn.execute("SELECT a FROM sms_tracking_bi.later_view").fetchone() == (1,)
        conn.rollback()


def test_every_view_and_column_has_a_comment(bi_dsn: str) -> None:
    with psycopg.connect(bi_dsn) as conn:
        uncommented_views = [
            r[0]
            for r in conn.execute(
                """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'sms_tracking_bi' AND c.relkind = 'v'
                  AND obj_description(c.oid, 'pg_class') IS NULL"""
            ).fetchall()
        ]
    uncommented_columns = [
        f"{view}.{column}" for view, cols in view_columns(bi_dsn).items() for column, comment in cols if not comment
    ]
    assert uncommented_views == []
    assert uncommented_columns == []


def test_the_data_dictionary_documents_every_view_and_column(bi_dsn: str) -> None:
    text = DICTIONARY.read_text(encoding="utf-8")
    sections = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^### `sms_tracking_bi\.(\w+)`\n(.*?)(?=^### |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    }
    missing = []
    for view, cols in view_columns(bi_dsn).items():
        if view not in sections:
            missing.append(view)
            continue
        missing += [f"{view}.{column}" for column, _ in cols if f"| `{column}` |" not in sections[view]]
    assert missing == [], "docs/bi.md lacks these views/columns: regenerate its data dictionary (see its end)"


# --- Privacy: phone numbers as a salted hash -----------------------------------------------------------------


@contextmanager
def as_reader_with(dsn: str, **settings: str) -> Iterator[psycopg.Connection[Any]]:
    """The BI role's view of the data with these bi_setting values, in a transaction that is rolled back."""
    with psycopg.connect(dsn) as conn:
        for key, value in settings.items():
            conn.execute(
                "INSERT INTO sms_tracking.bi_setting (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        conn.execute(f"SET LOCAL ROLE {READER}")  # type: ignore[arg-type]
        yield conn
        conn.rollback()


def phones(conn: psycopg.Connection[Any]) -> dict[str, list[str | None]]:
    found = {}
    for view in ("delivery_log", "exclusion", "quarantine", "quarantine_history"):
        found[view] = [
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT phone FROM sms_tracking_bi.{} ORDER BY 1").format(sql.Identifier(view))
            ).fetchall()
        ]
    return found


def salted(salt: str, number: str) -> str:
    return hashlib.sha256((salt + number).encode()).hexdigest()


def test_numbers_are_in_clear_by_default(bi_dsn: str) -> None:
    with as_reader_with(bi_dsn) as conn:
        log = phones(conn)["delivery_log"]
    assert sorted(log) == sorted(n for n in NUMBERS if n != "+33699999999")  # the proof's number is not there


def test_salted_hash_gives_64_hex_digits_the_same_for_the_same_number_in_every_view(bi_dsn: str) -> None:
    salt = "s3cret-salt-for-tests-0123456789abcdef"
    with as_reader_with(bi_dsn, phone_exposure="salted_hash", phone_salt=salt) as conn:
        found = phones(conn)
        unsalted = conn.execute(
            "SELECT phone FROM sms_tracking_bi.delivery_log WHERE provider_message_id = 'A2'"
        ).fetchone()
    everything = [p for values in found.values() for p in values if p is not None]
    assert everything and all(HEX64.match(p) for p in everything)
    assert sorted(found["delivery_log"]) == sorted(salted(salt, n) for n in NUMBERS if n != "+33699999999")
    # A2's number failed hard: the same hash in the log, the quarantine and its history.
    a2 = salted(salt, "+33612345679")
    assert unsalted == (a2,)
    assert a2 in found["quarantine"] and a2 in found["quarantine_history"]


def test_a_new_salt_changes_every_hash(bi_dsn: str) -> None:
    with as_reader_with(bi_dsn, phone_exposure="salted_hash", phone_salt="first-salt-aaaaaaaaaaaaaaaa") as conn:
        first = phones(conn)["delivery_log"]
    with as_reader_with(bi_dsn, phone_exposure="salted_hash", phone_salt="second-salt-bbbbbbbbbbbbbbb") as conn:
        second = phones(conn)["delivery_log"]
    assert len(first) == len(second) == 5
    assert set(first).isdisjoint(second)


def test_hashing_without_a_salt_exposes_no_number(bi_dsn: str) -> None:
    with as_reader_with(bi_dsn, phone_exposure="salted_hash") as conn:
        found = phones(conn)
    assert all(p is None for values in found.values() for p in values)


def test_with_hashing_on_no_text_column_of_any_view_holds_a_number(bi_dsn: str) -> None:
    patterns = [f"%{number.lstrip('+')}%" for number in NUMBERS] + ["%612345679%", "%6 12 34 56 78%"]
    columns = view_columns(bi_dsn)
    leaks = []
    with as_reader_with(bi_dsn, phone_exposure="salted_hash", phone_salt="another-salt-0123456789") as conn:
        for view, cols in columns.items():
            for column, _ in cols:
                count = conn.execute(
                    sql.SQL("SELECT count(*) FROM sms_tracking_bi.{} WHERE {}::text LIKE ANY(%s)").format(
                        sql.Identifier(view), sql.Identifier(column)
                    ),
                    (patterns,),
                ).fetchone()
                if count and count[0]:
                    leaks.append(f"{view}.{column}")
    assert leaks == []


def test_the_reader_cannot_read_the_salt(bi_dsn: str) -> None:
    with reader(bi_dsn) as conn:
        assert denied(conn, "SELECT value FROM sms_tracking.bi_setting")
        assert denied(conn, "SELECT salt FROM sms_tracking.bi_phone_exposure")
