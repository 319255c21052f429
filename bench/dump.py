"""A canonical dump of every table of a pipeline database: two runs over the same input give the same bytes.

Issue 19 makes the pipeline faster on the condition that its outputs stay the same. This dump is the proof:
every table of the ``sms_tracking`` schema in name order, one line per row (a JSON object, keys in jsonb's
order), rows sorted bytewise, and only what legitimately differs between two runs of the same code
normalised, each normalisation named with its reason in the header (lines starting with ``#``):

- a serial or identity column (``DEFAULT nextval(...)``, ``GENERATED ... AS IDENTITY``) numbers rows in the
  order the run happened to insert them (two loads racing on two workers, or a sequence advanced by a
  rolled-back retry): it is dropped from its own table;
- a column that refers to such a key (a foreign key, or a column named like the only serial primary key of
  another table, e.g. ``object_id``) is replaced by the referenced row's natural key (its smallest unique
  key without surrogates, e.g. ``source_object (source, uri, checksum)``), or dropped when the row already
  holds that natural key itself;
- the columns of ``VOLATILE``: times a run stamps with ``now()``/``clock_timestamp()``, durations and paths
  of its Data Docs, each found by dumping two runs of the same code on the same data and comparing them.
  A volatile value becomes ``"<volatile>"`` and a NULL stays NULL, so a value that should be set still shows.

The rules are generic, so a surrogate key added later (say a ``message_key bigint`` identity with foreign
keys to it) is normalised the same way without editing this file. Data lines are what to compare: the header
lists the rules applied and may change when the schema gains a surrogate key; compare with
``diff <(grep -v '^#' a.txt) <(grep -v '^#' b.txt)`` or ``python bench/dump.py --compare a.txt b.txt``.

Usage::

    python bench/dump.py --dsn postgresql://.../sms_bench_pipeline_100000 --out /var/tmp/dump.txt
    python bench/dump.py --compare /var/tmp/ref/dump-100k.txt /var/tmp/dump.txt
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

SCHEMA = "sms_tracking"
VOLATILE: dict[tuple[str, str], str] = {
    key: why
    for why, keys in {
        "the time the step wrote the event (now())": [("audit_event", "at")],
        "the time the summary step ran (now())": [("delivery_summary", "refreshed_at")],
        "the time the prepare step ran (now())": [("exclusion", "prepared_at"), ("send_list", "prepared_at")],
        "the time the seed was applied (DEFAULT now() at migration)": [("qualification", "updated_at")],
        "the time the migration ran": [("schema_migration", "applied_at")],
        "the clock when the load started (clock_timestamp())": [("source_object", "started_at")],
        "the clock when the load finished": [("source_object", "finished_at")],
        "the time the qualify step marked the object (now())": [("source_object", "qualified_at")],
        "the time the audit step marked the object (now())": [("source_object", "audited_at")],
        "the time validation ran (now())": [
            ("validated_object", "validated_at"),
            ("validation_result", "validated_at"),
        ],
    }.items()
    for key in keys
}
"""(table, column) -> why it differs between two runs of the same code on the same data (found by dumping two
100k bench runs at 20cb79b and comparing them)."""
EMBEDDED: dict[tuple[str, str], tuple[str, str]] = {
    ("audit_event", "details"): (
        "CASE WHEN {col} ? 'object_id' THEN {col} || jsonb_build_object('object_id', {object})"
        " || CASE WHEN {col} ->> 'key' = {col} ->> 'object_id' THEN jsonb_build_object('key', {object})"
        " ELSE '{{}}'::jsonb END"
        " || CASE WHEN {col} ? 'loaded_at' THEN jsonb_build_object('loaded_at', '<volatile>') ELSE '{{}}'::jsonb END"
        " ELSE {col} END",
        "an object's events hold its serial object_id (also as their key) and its load time: the id replaced by "
        "source_object's natural key, the time masked",
    ),
    ("audit_event", "message"): (
        r"regexp_replace({col}, '\(object \d+, loaded \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC', "
        "'(object <serial>, loaded <volatile>', 'g')",
        "an object's events name its serial id and load time in their text (the uri is named beside them); masked",
    ),
    ("build_watermark", "last_id"): (
        "CASE WHEN {alias}.name = 'quarantine_history' THEN (SELECT to_jsonb(count(*)) FROM "
        "sms_tracking.quarantine_history h WHERE h.id <= {col}) ELSE to_jsonb({col}) END",
        "the last serial id of the named table a build consumed; replaced by how many of its rows that covers",
    ),
}
"""(table, column) -> (SQL over the column ``{col}``, why): serial ids and run times inside a value."""
SESSION = (
    "SET TimeZone = 'UTC'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
    "SET work_mem = '256MB'",
)
"""Every setting that changes how a value is written out, fixed."""
MAX_DEPTH = 4


@dataclass
class Table:
    name: str
    columns: list[str] = field(default_factory=list)
    serial: set[str] = field(default_factory=set)
    unique_keys: list[list[str]] = field(default_factory=list)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    """column -> (table, serial column) it refers to."""


def read_schema(conn: object) -> dict[str, Table]:
    """Tables (partitions folded into their parent), columns, serial columns, unique keys and references."""
    tables: dict[str, Table] = {}
    for name, column, serial in conn.execute(  # type: ignore[attr-defined]
        """SELECT c.relname, a.attname,
                  a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%%'
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY c.relname, a.attnum""",
        (SCHEMA,),
    ):
        table = tables.setdefault(name, Table(name))
        table.columns.append(column)
        if serial:
            table.serial.add(column)
    # Unique indexes, no partial ones; an expression index's columns are those its expressions read (pg_depend);
    # an INCLUDE column is carried, not part of the key (report's primary key includes object_id since 0027).
    for name, columns in conn.execute(  # type: ignore[attr-defined]
        """SELECT t.relname, array_agg(DISTINCT a.attname ORDER BY a.attname)
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = t.oid AND (
                  a.attnum = ANY((i.indkey::int2[])[0:i.indnkeyatts - 1])
                  OR a.attnum IN (SELECT d.refobjsubid FROM pg_depend d
                                   WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                                     AND d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid))
            WHERE n.nspname = %s AND i.indisunique AND i.indpred IS NULL AND a.attnum > 0
            GROUP BY t.relname, i.indexrelid""",
        (SCHEMA,),
    ):
        if name in tables:
            tables[name].unique_keys.append(list(columns))
    single_serial_keys: dict[str, list[tuple[str, str]]] = {}
    for table in tables.values():
        for key in table.unique_keys:
            if len(key) == 1 and key[0] in table.serial:
                single_serial_keys.setdefault(key[0], []).append((table.name, key[0]))
    for name, column, target, target_column in conn.execute(  # type: ignore[attr-defined]
        """SELECT c.relname, a.attname, r.relname, ra.attname
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_class r ON r.oid = k.confrelid
             CROSS JOIN LATERAL unnest(k.conkey, k.confkey) AS u(col, refcol)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.col
             JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = u.refcol
            WHERE n.nspname = %s AND k.contype = 'f'""",
        (SCHEMA,),
    ):
        if name in tables and target in tables and target_column in tables[target].serial:
            tables[name].references[column] = (target, target_column)
    # A column named like exactly one table's serial primary key refers to it, with or without a constraint
    # (most object_id columns have none). A bare "id" names nothing.
    for table in tables.values():
        for column in table.columns:
            owners = [o for o in single_serial_keys.get(column, []) if o[0] != table.name]
            if column != "id" and column not in table.serial and column not in table.references and len(owners) == 1:
                table.references[column] = owners[0]
    return tables


def natural_key(table: Table) -> list[str]:
    """The smallest unique key without a serial column; without one, every column but serials and volatiles."""
    keys = [k for k in table.unique_keys if not set(k) & table.serial]
    if keys:
        return min(keys, key=lambda k: (len(k), k))
    return [c for c in table.columns if c not in table.serial and (table.name, c) not in VOLATILE]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Plan:
    """The SQL that writes one table's rows as canonical jsonb, and the notes saying what it changed."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = tables
        self.notes: list[str] = []
        self._aliases = 0

    def alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"

    def natural(self, table: Table, column: str, ref: str, depth: int) -> str:
        """The natural key (jsonb) of the row of ``table`` whose serial ``column`` is ``ref``; NULL when none."""
        key = natural_key(table)
        inner = self.alias()
        if depth >= MAX_DEPTH:
            raise RuntimeError(f"references nest deeper than {MAX_DEPTH} tables at {table.name}")
        pairs = []
        for name in key:
            value = f"{inner}.{quote(name)}"
            if name in table.references:
                target, target_column = table.references[name]
                value = self.natural(self.tables[target], target_column, value, depth + 1)
            pairs.append(f"{literal(name)}, {value}")
        return (
            f"(SELECT jsonb_build_object({', '.join(pairs)}) FROM {SCHEMA}.{quote(table.name)} {inner} "
            f"WHERE {inner}.{quote(column)} = {ref})"
        )

    def select(self, table: Table) -> str:
        """One jsonb text per row: serials dropped, volatiles masked, references replaced by natural keys."""
        alias = self.alias()
        removed: list[str] = []
        added: list[str] = []
        references: list[str] = []
        for column in table.columns:
            ref = f"{alias}.{quote(column)}"
            if column in table.serial:
                self.notes.append(f"{table.name}.{column}: serial surrogate key (insertion order), dropped")
                removed.append(column)
            elif (table.name, column) in VOLATILE:
                self.notes.append(f"{table.name}.{column}: {VOLATILE[(table.name, column)]}; masked")
                removed.append(column)
                added.append(f"{literal(column)}, CASE WHEN {ref} IS NULL THEN NULL ELSE '<volatile>' END")
            elif (table.name, column) in EMBEDDED:
                template, why = EMBEDDED[(table.name, column)]
                objects = self.tables.get("source_object", Table("source_object", ["object_id"]))
                self.notes.append(f"{table.name}.{column}: {why}")
                removed.append(column)
                added.append(
                    f"{literal(column)}, "
                    + template.format(
                        col=ref,
                        alias=alias,
                        object=self.natural(objects, "object_id", f"({ref} ->> 'object_id')::bigint", 1),
                    )
                )
            elif column in table.references:
                target, target_column = table.references[column]
                key = natural_key(self.tables[target])
                self.notes.append(
                    f"{table.name}.{column}: refers to serial {target}.{target_column}; replaced by {target}'s "
                    f"natural key ({', '.join(key)}), dropped where the row holds that key itself"
                )
                removed.append(column)
                sub = self.natural(self.tables[target], target_column, ref, 1)
                references.append(
                    f"(SELECT CASE WHEN s.k IS NOT NULL AND s.k <@ b.j THEN '{{}}'::jsonb "
                    f"ELSE jsonb_build_object({literal(column)}, s.k) END FROM (SELECT {sub} AS k) s)"
                )
        base = f"to_jsonb({alias})"
        if removed:
            base += f" - ARRAY[{', '.join(literal(c) for c in removed)}]"
        if added:
            base += f" || jsonb_build_object({', '.join(added)})"
        line = " || ".join(["b.j", *references])
        # The base row is computed once (OFFSET 0 keeps it from being inlined into every reference's test).
        return (
            f"SELECT ({line})::text FROM {SCHEMA}.{quote(table.name)} {alias} "
            f"CROSS JOIN LATERAL (SELECT {base} AS j OFFSET 0) b"
        )


def landing_root(conn: object, tables: dict[str, Table]) -> str | None:
    """The folder every loaded file lies under (the common folder of the objects' file URIs), or None."""
    import os.path
    from urllib.parse import unquote, urlsplit

    if "source_object" not in tables:
        return None
    uris = [u for (u,) in conn.execute(f"SELECT uri FROM {SCHEMA}.source_object")]  # type: ignore[attr-defined]
    paths = [unquote(urlsplit(u).path) for u in uris if u.startswith("file://")]
    return os.path.commonpath(paths) if paths else None


def dump_lines(dsn: str, landing: str | None = None) -> Iterator[str]:
    """The dump, line by line (without newlines): header comments, then each table's name, count and rows.

    ``landing`` (default: the common folder of the loaded files) is written ``<landing>``: where a run keeps its
    landing folder is the bench's choice (``--data-dir``), not the pipeline's output.
    """
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.read_only = True
        for statement in SESSION:
            conn.execute(statement)  # type: ignore[arg-type]
        tables = read_schema(conn)
        plan = Plan(tables)
        queries = {name: plan.select(tables[name]) for name in sorted(tables)}
        root = landing or landing_root(conn, tables)
        yield f"# canonical dump of the {SCHEMA} schema, bench/dump.py: rows sorted, one JSON object a line"
        yield "# compare the lines not starting with '#'; normalised columns and why:"
        for note in plan.notes:
            yield f"#   {note}"
        if root:
            yield f"#   every value: the landing folder {root} written <landing>"
        for name, query in queries.items():
            rows = (line for (line,) in conn.execute(query))  # type: ignore[arg-type]
            if root:
                rows = (line.replace(root, "<landing>") for line in rows)
            # Sorted here, not by the server: Python orders str by code point, which is UTF-8's byte order.
            lines = sorted(rows)
            yield f"== {name} ({len(lines)} rows)"
            yield from lines


def dump(dsn: str, out: Path | TextIO, landing: str | None = None) -> str:
    """Write the dump of the database at ``dsn``; returns the sha256 of its data lines (comments left out)."""
    digest = hashlib.sha256()
    with out.open("w", encoding="utf-8") if isinstance(out, Path) else contextlib.nullcontext(out) as stream:
        for line in dump_lines(dsn, landing):
            stream.write(line + "\n")
            if not line.startswith("#"):
                digest.update(line.encode() + b"\n")
    return digest.hexdigest()


def tables_of(path: Path) -> dict[str, list[str]]:
    """A dump's data lines by table (comments left out)."""
    tables: dict[str, list[str]] = {}
    rows: list[str] = []
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("== "):
                rows = tables.setdefault(line.split()[1], [])
            elif not line.startswith("#"):
                rows.append(line.rstrip("\n"))
    return tables


def compare(first: Path, second: Path, show: int = 5) -> int:
    """Print, table by table, the rows only one dump has (``show`` of each side); 0 when identical."""
    a, b = tables_of(first), tables_of(second)
    if a == b:
        print(f"identical: {len(a)} tables, {sum(len(rows) for rows in a.values()):,} rows")
        return 0
    for name in sorted(set(a) | set(b)):
        left, right = a.get(name), b.get(name)
        if left == right:
            continue
        if left is None or right is None:
            print(f"{name}: only in {first if right is None else second}")
            continue
        only_left, only_right = sorted(set(left) - set(right)), sorted(set(right) - set(left))
        print(f"{name}: {len(left):,} / {len(right):,} rows; {len(only_left):,} only in A, {len(only_right):,} in B")
        for sign, rows in (("-", only_left), ("+", only_right)):
            for row in rows[:show]:
                print(f"  {sign} {row[:600]}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/dump.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", help="the pipeline database")
    parser.add_argument("--out", help="the dump file (default: standard output)")
    parser.add_argument("--landing", help="the landing folder, written <landing> (default: found from the objects)")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two dumps' data lines and exit")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(Path(args.compare[0]), Path(args.compare[1]))
    if not args.dsn:
        parser.error("--dsn is required (or --compare A B)")
    digest = dump(args.dsn, Path(args.out) if args.out else sys.stdout, args.landing)
    print(f"sha256 of the data lines: {digest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
