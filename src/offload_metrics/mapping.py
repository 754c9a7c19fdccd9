"""The organisation mapping: ordered rules from source values to function, business unit and team.

Telemetry, vendor costs and collaboration data know services, projects and workspaces, not
business functions. One mapping file says which is which, and every importer applies it the same
way, in DuckDB, over the whole file at once.

The file is TOML with one ``[[rule]]`` table per rule, or CSV with the columns
``source, match, function, business_unit, team``. Rules are tried in file order; the first that
matches a record wins. ``team`` may be left out or empty. A ``match`` holding ``*``, ``?`` or ``[``
is a glob over the whole value (``*`` any text, ``?`` one character, ``[abc]`` one of); any other
match must equal the value exactly. Both are case-sensitive.

A source is a dotted name:

- ``resource.<attribute>`` and ``span.<attribute>``: OpenTelemetry resource and span attributes
  (``resource.service.namespace``, ``resource.deployment.environment``, ``span.gen_ai.agent.name``);
- ``langfuse.<field>``: a Langfuse observation field (``langfuse.project_id``,
  ``langfuse.environment``), ``langfuse.metadata.<key>`` a metadata key, ``langfuse.tags`` a tag;
- ``openai.project_id``, ``anthropic.workspace_id``, ``vendor.account``: vendor cost accounts;
- ``viva.<attribute>``: a Viva Insights organisational attribute.

API (importers use these; nothing else reads the file):

- ``load_mapping(path) -> Mapping``: ``None`` gives the empty mapping, under which every record is
  unmapped; a file that cannot be used raises ``MappingError`` naming the file, the rule or line,
  and the reason.
- ``Mapping.fingerprint``: sha256 of the canonical rules, part of what makes a reload "already
  loaded" (same file content, same mapping, same ingest settings).
- ``Mapping.sources(prefix, always=...)``: the sources an importer must offer as candidates.
- ``Mapping.register(conn) -> str``: creates the temporary table of rules (``rule_no``, ``source``,
  ``pattern``, ``is_glob``, ``function``, ``business_unit``, ``team``) on that connection and
  returns its name; the sources table sits beside it.
- ``unmapped_values(conn)``: each value no rule matched, with its count of records still unmapped.
- ``Mapping.match_sql(rows, candidates) -> str``: SQL over two relations, ``rows`` with a
  ``row_id`` column (every record) and ``candidates`` with ``(row_id, source, value)`` (each
  source value a record has), that returns one row per ``row_id`` with the first matching rule's
  ``rule_no``, ``function``, ``business_unit`` and ``team``; for a record no rule maps these are
  null and ``unmapped`` names its values (``resource.service.namespace="checkout"``), ``reason``
  the whole rejection reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

SOURCE_PREFIXES = ("resource.", "span.", "langfuse.", "viva.")
SOURCE_NAMES = ("openai.project_id", "anthropic.workspace_id", "vendor.account")
REQUIRED_KEYS = ("source", "match", "function", "business_unit")
KEYS = (*REQUIRED_KEYS, "team")
GLOB_CHARACTERS = ("*", "?", "[")
RULES_TABLE = "_mapping_rules"
SOURCES_TABLE = "_mapping_sources"
NO_MAPPING_HINT = " (no mapping file: name one with --mapping or the setting mapping.file)"


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file, the rule or line, the reason."""

    def __init__(self, file: str, where: str | None, reason: str) -> None:
        super().__init__(f"{file}: {where}: {reason}" if where else f"{file}: {reason}")
        self.file = file
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class Rule:
    """One mapping rule; number is its position (1-based), where says where the file has it."""

    number: int
    source: str
    match: str
    function: str
    business_unit: str
    team: str | None
    where: str = ""

    @property
    def is_glob(self) -> bool:
        return any(character in self.match for character in GLOB_CHARACTERS)

    def canonical(self) -> list[str | None]:
        return [self.source, self.match, self.function, self.business_unit, self.team]


@dataclass(frozen=True)
class Mapping:
    """Ordered rules, first match wins; the empty mapping maps nothing."""

    rules: tuple[Rule, ...] = ()
    file: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.rules

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps([rule.canonical() for rule in self.rules], ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def sources(self, prefix: str, always: Sequence[str] = ()) -> tuple[str, ...]:
        """Sources an importer offers as candidates: `always` (named when a record is unmapped),
        then every rule source under prefix, in rule order."""
        names = dict.fromkeys(always)
        names.update(dict.fromkeys(rule.source for rule in self.rules if rule.source.startswith(prefix)))
        return tuple(names)

    def register(self, conn: duckdb.DuckDBPyConnection, sources: Sequence[str] = ()) -> str:
        """Create the temporary rules table (and the table of candidate sources, in naming order)."""
        conn.execute(
            f"create or replace temp table {RULES_TABLE} (rule_no INTEGER, source VARCHAR, pattern VARCHAR, "
            "is_glob BOOLEAN, function VARCHAR, business_unit VARCHAR, team VARCHAR)"
        )
        if self.rules:
            conn.executemany(
                f"insert into {RULES_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        rule.number,
                        rule.source,
                        rule.match,
                        rule.is_glob,
                        rule.function,
                        rule.business_unit,
                        rule.team,
                    ]
                    for rule in self.rules
                ],
            )
        conn.execute(f"create or replace temp table {SOURCES_TABLE} (position INTEGER, source VARCHAR)")
        named = list(dict.fromkeys([*sources, *(rule.source for rule in self.rules)]))
        if named:
            conn.executemany(
                f"insert into {SOURCES_TABLE} values (?, ?)", [[i, name] for i, name in enumerate(named)]
            )
        return RULES_TABLE

    def match_sql(self, rows: str, candidates: str) -> str:
        """The first matching rule of each row, or what its values were when none matches.

        rows and candidates are relation names or parenthesised queries of the caller's own
        making; rule values reach the query only through the registered tables.
        """
        hint = NO_MAPPING_HINT if self.is_empty else ""
        return f"""
            with offered as (
                select c.row_id, c.source, c.value, s.position
                from {candidates} as c
                join {SOURCES_TABLE} as s on s.source = c.source
                where c.value is not null
            ),
            matched as (
                select o.row_id, min(r.rule_no) as rule_no
                from offered as o
                join {RULES_TABLE} as r on r.source = o.source
                where case when r.is_glob then o.value glob r.pattern else o.value = r.pattern end
                group by o.row_id
            ),
            named as (
                -- Only the records no rule maps need their values named.
                select row_id,
                       string_agg(source || '=' || to_json(value)::VARCHAR, ', ' order by position, value) as seen
                from offered
                where row_id not in (select row_id from matched)
                group by row_id
            ),
            final as (
                select all_rows.row_id, m.rule_no, r.function, r.business_unit, r.team,
                       case when m.rule_no is null then coalesce(n.seen, '(none of ' || (
                           select string_agg(source, ', ' order by position) from {SOURCES_TABLE}
                       ) || ' is set)') end as unmapped
                from (select row_id from {rows}) as all_rows
                left join matched as m on m.row_id = all_rows.row_id
                left join {RULES_TABLE} as r on r.rule_no = m.rule_no
                left join named as n on n.row_id = all_rows.row_id
            )
            select *, case when unmapped is not null
                           then 'no mapping rule matches ' || unmapped || {_literal(hint)} end as reason
            from final
        """


def unmapped_values(conn: duckdb.DuckDBPyConnection):
    """Values no mapping rule matched, with how many records carried each, over loads whose records
    are still unmapped (a record that a later load mapped no longer counts): the rules to add.
    Vendor cost accounts count their cost rows that no later load stored."""
    return conn.execute(
        """
        with unmapped as (
            select json_extract_string(r.raw, '$.unmapped') as unmapped,
                   json_extract_string(r.raw, '$.event_id') as event_id, l.file_name
            from rejected_rows as r
            join loads as l on l.load_id = r.load_id
            where r.column_name = 'mapping'
        ),
        telemetry as (
            select unmapped, count(distinct event_id) as records, string_agg(distinct file_name, ', ') as files
            from unmapped
            where event_id not in (select event_id from usage_events)
            group by unmapped
        ),
        vendor_accounts as (
            select
                case v.vendor when 'openai' then 'openai.project_id' when 'anthropic' then 'anthropic.workspace_id'
                    else 'vendor.account' end || '=' || coalesce(to_json(v.account)::VARCHAR, '(none)') as unmapped,
                count(*) as records,
                string_agg(distinct l.file_name, ', ') as files
            from stg_vendor_unassigned as v
            join loads as l on l.load_id = v.load_id
            group by all
        ),
        final as (
            select * from telemetry
            union all
            select * from vendor_accounts
        )
        select * from final order by records desc, unmapped
        """
    ).df()


def _literal(text: str) -> str:
    """A constant of this module as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


EMPTY = Mapping()


def load_mapping(path: str | os.PathLike[str] | None) -> Mapping:
    """The mapping in a TOML or CSV file; None gives the empty mapping."""
    if path is None or str(path) == "":
        return EMPTY
    file = Path(path)
    name = str(path)
    if not file.is_file():
        raise MappingError(name, None, "mapping file not found")
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise MappingError(name, None, "a mapping file is .toml ([[rule]] tables) or .csv (source,match,...)")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise MappingError(name, None, f"not UTF-8 text (invalid byte at offset {error.start})") from None
    entries = _toml_entries(name, text) if suffix == ".toml" else _csv_entries(name, text)
    if not entries:
        raise MappingError(name, None, "the file has no rules")
    rules = []
    seen: dict[tuple[str, str], str] = {}
    for number, (where, entry) in enumerate(entries, start=1):
        rule = _rule(name, where, number, entry)
        earlier = seen.get((rule.source, rule.match))
        if earlier:
            raise MappingError(
                name, where, f"repeats the source and match of {earlier}, so it could never apply"
            )
        seen[(rule.source, rule.match)] = where
        rules.append(rule)
    return Mapping(tuple(rules), name)


def _toml_entries(name: str, text: str) -> list[tuple[str, dict[str, object]]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(name, None, f"not valid TOML: {error}") from None
    unknown = [key for key in data if key != "rule"]
    if unknown:
        raise MappingError(
            name, None, f"unknown table or key {', '.join(unknown)}: rules are [[rule]] tables"
        )
    rules = data.get("rule", [])
    if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
        raise MappingError(name, None, "rules must be [[rule]] tables")
    return [(f"rule {number}", rule) for number, rule in enumerate(rules, start=1)]


def _csv_entries(name: str, text: str) -> list[tuple[str, dict[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise MappingError(
            name, None, "the file has no header row (source,match,function,business_unit,team)"
        )
    columns = [column.strip() for column in header]
    missing = [key for key in REQUIRED_KEYS if key not in columns]
    unknown = [column for column in columns if column not in KEYS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise MappingError(
            name, "line 1", "; ".join(problems) + f" (columns: {', '.join(KEYS)}; team may be left out)"
        )
    entries = []
    previous = reader.line_num
    for row in reader:
        line, previous = previous + 1, reader.line_num
        if not any(value.strip() for value in row):
            continue
        if len(row) != len(columns):
            raise MappingError(name, f"line {line}", f"has {len(row)} fields, the header has {len(columns)}")
        entries.append((f"line {line}", dict[str, object](zip(columns, row, strict=True))))
    return entries


def _rule(name: str, where: str, number: int, entry: dict[str, object]) -> Rule:
    unknown = [key for key in entry if key not in KEYS]
    if unknown:
        raise MappingError(name, where, f"unknown key(s) {', '.join(unknown)} (keys: {', '.join(KEYS)})")
    values: dict[str, str | None] = {}
    for key in KEYS:
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise MappingError(name, where, f"{key} must be text (got {value!r})")
        value = value.strip() if value is not None else None
        if not value:
            if key in REQUIRED_KEYS:
                raise MappingError(name, where, f"{key} is required")
            value = None
        values[key] = value
    source = values["source"] or ""
    if not (
        source in SOURCE_NAMES or any(source.startswith(p) and len(source) > len(p) for p in SOURCE_PREFIXES)
    ):
        known = ", ".join([*(prefix + "<attribute>" for prefix in SOURCE_PREFIXES), *SOURCE_NAMES])
        raise MappingError(name, where, f"unknown source {source!r} (sources: {known})")
    match = values["match"] or ""
    if _unclosed_bracket(match):
        raise MappingError(name, where, f"match {match!r} opens a [ that it does not close")
    return Rule(
        number=number,
        source=source,
        match=match,
        function=values["function"] or "",
        business_unit=values["business_unit"] or "",
        team=values["team"],
        where=where,
    )


def _unclosed_bracket(pattern: str) -> bool:
    opened = False
    for character in pattern:
        if character == "[" and not opened:
            opened = True
        elif character == "]" and opened:
            opened = False
    return opened
