"""The usage rollup on Apache Spark: validate, deduplicate and roll up events where they live.

The same rules as DuckDB's ingest (rules.py, compiled here to Spark SQL), the same dedup rule
(rules.dedup_sql, SQL both engines run) and the same rollup statement (sql/rollup/rollup_usage_daily.sql,
run by Spark as it is, less its INSERT target). The result is a rollup folder (rollup_folder.py)
that `offload-metrics ingest DIR` loads as usage.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from offload_metrics import config, ingest, rollup_folder, rules, schema, store
from offload_metrics.ingest import rules as ingest_rules

MODEL = schema.UsageEvent
LOCAL_SHUFFLE_PARTITIONS = "8"
# ISO 8601 timestamps as the contract has them: a date, then optionally a time and an offset.
# Spark's own cast also takes a bare year ("2025") and a few other forms DuckDB refuses.
TIMESTAMP_PATTERN = (
    r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?"
    # An offset a clock can have, -14:00 to +14:00, as the DuckDB ingest requires.
    r"(Z|z|[+-]((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?))?\s*$"
)
EXACT_INTEGER_LIMIT = ingest_rules.EXACT_INTEGER_LIMIT
# Columns usage_events holds beside the contract (ingest.importers.carried_columns: a telemetry event's estimated
# cost and trace), with their Spark types; null for a usage file's events, as DuckDB stores them.
CARRIED_COLUMNS = (("estimated_cost_usd", f"decimal(18, {schema.MONEY_SCALE})"), ("trace_id", "string"))
UNREADABLE_REASONS = {
    "csv": "line does not match the header (a field too many or too few, or a quote not closed)",
    "jsonl": "not a JSON object",
}


class RollupError(Exception):
    """The rollup could not run; nothing was written under the output folder's manifest."""


@dataclass(frozen=True)
class EventFile:
    path: str
    header: ingest.Header


# ---------------------------------------------------------------------------------------------
# Finding the input files


def event_files(uris: Sequence[str]) -> list[EventFile]:
    """The files the URIs name (files, folders searched to any depth, globs), in path order."""
    found: set[str] = set()
    for uri in uris:
        local = uri.removeprefix("file://")
        matches = glob.glob(local, recursive=True) if glob.has_magic(local) else [local]
        if not matches:
            raise RollupError(f"{uri}: no such file or folder")
        for match in matches:
            where = Path(match)
            if where.is_dir():
                found.update(str(p.resolve()) for p in where.rglob("*") if p.is_file() and _is_data(p))
            elif where.is_file():
                found.add(str(where.resolve()))
            else:
                raise RollupError(f"{uri}: no such file or folder")
    if not found:
        raise RollupError(f"no event files under {', '.join(uris)}")
    conn = duckdb.connect()
    try:
        files = []
        for path in sorted(found):
            try:
                header = ingest.read_header(conn, Path(path))
                ingest.resolve_kind(path, header, MODEL.kind)
            except ingest.IngestError as error:
                raise RollupError(str(error)) from None
            files.append(EventFile(path, header))
        return files
    finally:
        conn.close()


def _is_data(path: Path) -> bool:
    """Files a folder's listing holds besides data: Spark's _SUCCESS, checksums, hidden files."""
    return not path.name.startswith(("_", ".")) and not path.name.endswith(".crc")


# ---------------------------------------------------------------------------------------------
# Validation, compiled from rules.py for Spark SQL


def _json_string(expression: str) -> str:
    """A string as a JSON string literal (as DuckDB's to_json writes it)."""
    wrapped = f"to_json(named_struct('v', {expression}))"
    return f"case when {expression} is not null then substr({wrapped}, 6, length({wrapped}) - 6) end"


def _spark_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _decimal_places(raw: str) -> str:
    """Spark SQL: the decimal places the number written as `raw` needs, counted on its text as
    DuckDB's ingest counts them (ingest.rules.decimal_places_sql), so nothing is rounded first."""
    pattern = _spark_string(ingest_rules.NUMBER_PARTS)
    whole, decimals, exponent = (f"regexp_extract({raw}, {pattern}, {group})" for group in (1, 2, 3))
    digits = f"concat({whole}, {decimals})"
    power = f"try_cast(coalesce(nullif({exponent}, ''), '0') as bigint)"
    zeros = f"(length({digits}) - length(regexp_replace({digits}, '0+$', '')))"
    return (
        f"(case when not ({raw} rlike {_spark_string(ingest_rules.NUMBER_PATTERN)}) then null "
        f"when regexp_replace({digits}, '^0+', '') = '' then 0 when {power} is null then null "
        f"else greatest(length({decimals}) - {power} - {zeros}, 0) end)"
    )


def _number(raw: str) -> str:
    """Text as a DOUBLE when it is written as a plain number (Spark's cast alone also takes 1d, 0x1p3)."""
    return f"case when {raw} rlike {_spark_string(ingest_rules.NUMBER_PATTERN)} then try_cast(trim({raw}) as double) end"


def _value(column: schema.Column, raw: str, number: str) -> str:
    """The typed value of raw text in Spark SQL, null when it does not parse; `number` is the
    column's _number, computed once beforehand."""
    if column.allowed:
        options = ", ".join(_spark_string(option) for option in column.allowed)
        return f"case when {raw} in ({options}) then {raw} end"
    if column.base == "text":
        return raw
    if column.base == "timestamp":
        return f"case when {raw} rlike {_spark_string(TIMESTAMP_PATTERN)} then try_cast(trim({raw}) as timestamp) end"
    if column.base == "date":
        return f"case when {raw} rlike {_spark_string(ingest_rules.DATE_PATTERN)} then try_cast(trim({raw}) as date) end"
    if column.base == "money":
        return f"try_cast(trim({raw}) as decimal(18, {schema.MONEY_SCALE}))"
    if column.base == "integer":
        return (
            f"case when abs({number}) < {EXACT_INTEGER_LIMIT} and {number} = rint({number}) "
            f"then cast({number} as bigint) end"
        )
    return f"case when abs({number}) <= 1.7976931348623157E308 then {number} end"


def _condition(check: rules.Check, column: schema.Column, raw: str, value: str, bounds: config.Ingest) -> str:
    """When a value breaks the check, in Spark SQL (null counts as not breaking, as in DuckDB)."""
    if check.test == "required":
        return f"{raw} is null"
    if check.test == "text":
        return f"instr({raw}, char(0)) > 0"
    if check.test == "digits":
        number = f"try_cast(trim({raw}) as double)"
        return (
            f"{raw} is not null and {value} is null and {raw} rlike {_spark_string(ingest_rules.NUMBER_PATTERN)} "
            f"and abs({number}) >= {check.bound:.0f}"
        )
    if check.test == "form":
        if column.base == "money":
            return f"{raw} is not null and ({value} is null or instr({raw}, '_') > 0)"
        if column.base == "integer":
            # As DuckDB's ingest: a DOUBLE reads 1.0000000000000001 as 1, so decimals are checked exactly.
            whole = f"coalesce({_decimal_places(raw)} = 0, false)"
            return f"{raw} is not null and ({value} is null or (instr({raw}, '.') > 0 and not {whole}))"
        return f"{raw} is not null and {value} is null"
    if check.test == "places":
        dot = f"instr({raw}, '.')"
        few_places = (
            f"(instr({raw}, 'e') = 0 and instr({raw}, 'E') = 0 "
            f"and ({dot} = 0 or length({raw}) - {dot} <= {schema.MONEY_SCALE}))"
        )
        exact = f"{_decimal_places(raw)} <= {schema.MONEY_SCALE}"
        return f"{value} is not null and not ({few_places} or coalesce({exact}, false))"
    if check.test == "allowed":
        return f"{raw} is not null and {value} is null"
    if check.test == "bounds":
        low, high = f"date'{bounds.min_date.isoformat()}'", f"date'{bounds.max_date.isoformat()}'"
        if column.base == "date":
            return f"{value} < {low} or {value} > {high}"
        return f"{value} < cast({low} as timestamp) or {value} >= cast(date_add({high}, 1) as timestamp)"
    if check.test == "ge":
        return f"{value} < {check.bound:g}"
    if check.test == "gt":
        return f"{value} <= {check.bound:g}"
    if check.test == "le":
        return f"{value} > {check.bound:g}"
    raise ValueError(f"unknown check {check.test}")


def _typed(frame, model: type[schema.InputKind]):
    """Add each column's value v<i> to a frame holding its raw text r<i>, in two projections so
    that Spark parses each number once (it does not inline an expensive expression used twice)."""
    contract = schema.columns(model)
    numbers = [
        f"{_number(f'r{index}')} as n{index}"
        for index, column in enumerate(contract)
        if column.base in ("integer", "number")
    ]
    frame = frame.selectExpr("*", *numbers)
    return frame.selectExpr(
        "*",
        *(f"{_value(column, f'r{index}', f'n{index}')} as v{index}" for index, column in enumerate(contract)),
    )


def _breaches(
    model: type[schema.InputKind], bounds: config.Ingest
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(column, whole breach, [(condition, reason)]) per contract column with checks, then per row rule."""
    found = []
    contract = rules.column_rules(model, bounds)
    values = {ruled.name: f"v{index}" for index, ruled in enumerate(contract)}
    for index, ruled in enumerate(contract):
        conditions = [
            (
                f"coalesce({_condition(check, ruled.column, f'r{index}', f'v{index}', bounds)}, false)",
                rules.reason_text(check),
            )
            for check in ruled.checks
        ]
        if conditions:
            found.append((ruled.name, " or ".join(condition for condition, _ in conditions), conditions))
    for rule in model.row_rules:
        breach = f"coalesce({ingest_rules.row_rule_sql(rule, values)}, false)"
        found.append((rule.column, breach, [(breach, rules.row_rule_text(rule))]))
    return found


def flagged(frame, model: type[schema.InputKind], bounds: config.Ingest):
    """Every record with its typed values (defaults applied) under the contract's names, a count of
    the rules it breaks (_problems) and, only when it breaks one, its raw text as a JSON array."""
    contract = schema.columns(model)
    raws = [f"nullif({column.name}, '') as r{index}" for index, column in enumerate(contract)]
    passed = ("_file", "_block", "_pos", "_unreadable", "_unreadable_reason", *REPEATED_COLUMNS)
    frame = _typed(frame.selectExpr(*passed, *raws), model)
    problems = " + ".join(
        f"(case when {breach} then 1 else 0 end)" for _, breach, _ in _breaches(model, bounds)
    )
    frame = frame.selectExpr(
        "*",
        f"{problems} + (case when _unreadable is not null then 1 else 0 end)"
        " + (case when _repeated_column is not null then 1 else 0 end) as _problems",
    )
    stored = []
    for index, column in enumerate(contract):
        if column.default is None:
            stored.append(f"v{index} as {column.name}")
        else:
            stored.append(
                f"coalesce(v{index}, cast('{column.default}' as {_spark_type(column)})) as {column.name}"
            )
    raw_list = ", ".join(f"r{index}" for index in range(len(contract)))
    return frame.selectExpr(
        *passed,
        "_problems",
        f"case when _problems > 0 then to_json(array({raw_list})) end as _raw",
        *stored,
    )


def rejections(frame, model: type[schema.InputKind], bounds: config.Ingest):
    """The records of a flagged frame that break a rule, each with its key, first broken column,
    reasons (worded as DuckDB's ingest words them) and raw values as JSON."""
    contract = schema.columns(model)
    frame = frame.where("_problems > 0").selectExpr(
        "_file",
        "_unreadable",
        "_unreadable_reason",
        *REPEATED_COLUMNS,
        *(
            f"element_at(from_json(_raw, 'array<string>'), {index + 1}) as r{index}"
            for index in range(len(contract))
        ),
    )
    frame = _typed(frame, model)
    first, reasons = [], []
    for name, breach, conditions in _breaches(model, bounds):
        first.append(f"case when {breach} then '{name}' end")
        cases = " ".join(f"when {condition} then {_spark_string(reason)}" for condition, reason in conditions)
        raw = next((f"r{index}" for index, column in enumerate(contract) if column.name == name), None)
        shown = f"coalesce(concat(' (got ', {_json_string(f'left({raw}, 80)')}, ')'), '')" if raw else "''"
        reasons.append(f"case {cases} end || {shown}")
    pairs = ", ".join(f"'{column.name}', r{index}" for index, column in enumerate(contract))
    key = contract.index(next(column for column in contract if column.name == model.key[0]))
    return frame.selectExpr(
        "_file as file",
        f"r{key} as key",
        "'rejected' as outcome",
        # A record that gives a column twice is rejected for that alone, as DuckDB's ingest words it.
        "case when _unreadable is not null then null when _repeated_column is not null then _repeated_column "
        f"else coalesce({', '.join(first)}) end as column_name",
        "case when _unreadable is not null then _unreadable_reason when _repeated_column is not null "
        f"then _repeated_reason else concat_ws('; ', {', '.join(reasons)}) end as reason",
        "case when _unreadable is not null then to_json(named_struct('file', _file, 'line', _unreadable)) "
        "when _repeated_column is not null then to_json(named_struct('file', _file, 'line', _line)) "
        f"else to_json(named_struct('file', _file, {pairs}), map('ignoreNullFields', 'false')) end as raw",
    )


def _spark_type(column: schema.Column) -> str:
    return {
        "text": "string",
        "timestamp": "timestamp",
        "date": "date",
        "integer": "bigint",
        "number": "double",
        "money": f"decimal(18, {schema.MONEY_SCALE})",
    }[column.base]


def rollup_select_sql() -> str:
    """sql/rollup/rollup_usage_daily.sql, the query each DuckDB load inserts into usage_daily, for Spark.

    One statement, two engines: DuckDB runs the file inside each load; Spark runs this over a view
    usage_events of the accepted events (all in load 1)."""
    text = store.sql_text("rollup_usage_daily.sql")
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")).replace("$load_id", "1")


# ---------------------------------------------------------------------------------------------
# Running it


def session(master: str | None = None, conf: Sequence[tuple[str, str]] = ()):
    """A SparkSession in UTC, without its web UI (local[*] unless a master is named)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RollupError(
            "the Spark engine needs pyspark: pip install 'offload-metrics[spark]' (and Java 17+)"
        ) from None
    if shutil.which("java") is None and not _java_home():
        raise RollupError("Spark needs Java 17 or newer: install openjdk-17-jre-headless (or set JAVA_HOME)")
    master = master or "local[*]"
    builder = (
        SparkSession.builder.appName("offload-metrics rollup")
        .master(master)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "true")
    )
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS)
    for key, value in conf:
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _java_home() -> bool:
    home = os.environ.get("JAVA_HOME")
    return home is not None and Path(home, "bin", "java").exists()


def _read_group(spark, files: list[EventFile]):
    """One Spark read of files that share a format and header, as the contract's columns in text,
    with each record's file, block and position, and its text when the reader could not parse it."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    header = files[0].header
    paths = [file.path for file in files]
    contract = [column.name for column in schema.columns(MODEL)]
    corrupt = "_corrupt_record"
    if header.file_format == "csv":
        fields = [StructField(f"c{index}", StringType()) for index in range(len(header.names))]
        frame = spark.read.csv(
            paths,
            schema=StructType([*fields, StructField(corrupt, StringType())]),
            header=True,
            sep=header.delimiter,
            quote='"',
            escape='"',
            multiLine=True,
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=corrupt,
            encoding="UTF-8",
        )
        sources = {name: F.col(f"c{header.names.index(name)}") for name in contract if name in header.names}
        unreadable = F.col(corrupt)
    elif header.file_format == "jsonl":
        names = [name for name in contract if name in header.names]
        frame = spark.read.json(
            paths,
            schema=StructType(
                [*(StructField(name, StringType()) for name in names), StructField(corrupt, StringType())]
            ),
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=corrupt,
        )
        sources = {name: F.col(name) for name in names}
        unreadable = F.col(corrupt)
    else:
        frame = spark.read.parquet(*paths)
        sources = {name: F.col(name).cast("string") for name in contract if name in header.names}
        unreadable = F.lit(None).cast("string")
    columns = [
        _file_path(),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_pos"),
        unreadable.alias("_unreadable"),
        F.lit(UNREADABLE_REASONS.get(header.file_format)).cast("string").alias("_unreadable_reason"),
    ]
    columns += [sources.get(name, F.lit(None).cast("string")).alias(name) for name in contract]
    frame = frame.select(*columns)
    if header.file_format == "jsonl":
        return _with_repeated_keys(spark, frame, paths, [name for name in contract if name in header.names])
    return _without_repeats(frame)


def _file_path():
    """Each record's file as a local path (Spark writes file:/...), named _file."""
    from pyspark.sql import functions as F

    return F.regexp_replace(F.col("_metadata.file_path"), "^file:(//)?", "").alias("_file")


def _without_repeats(frame):
    """A frame whose records give no column twice: REPEATED_COLUMNS all null."""
    from pyspark.sql import functions as F

    return frame.select("*", *(F.lit(None).cast("string").alias(name) for name in REPEATED_COLUMNS))


# A JSON Lines record that gives a contract column more than once: the first such column, every
# such column's reason, and the record's text (null for every other record).
REPEATED_COLUMNS = ("_repeated_column", "_repeated_reason", "_line")
# Past this many records that give a column twice, they are joined to the events without broadcasting.
BROADCAST_REPEATS = 100_000


def _with_repeated_keys(spark, frame, paths: list[str], names: list[str]):
    """The JSON Lines records of `frame` with REPEATED_COLUMNS: those that give a contract column
    twice are rejected, as DuckDB's ingest rejects them (JSON leaves which value counts to the reader).

    Spark's JSON reader keeps the last value and says nothing, and it gives no line's text or
    number. So the files are read again as text, the lines that give a column twice are found by
    their top-level keys (json_object_keys), and they are matched to the reader's records by file,
    key and values: the reader gives a number as written (2.50), from_json as a double (2.5), so a
    value matches one equal to it as text or as a number."""
    from pyspark.sql import functions as F

    key = MODEL.key[0]
    given = {name: f"size(filter(_keys, k -> k = {_spark_string(name)}))" for name in names}
    column = (
        "coalesce("
        + ", ".join(f"case when {given[name]} > 1 then {_spark_string(name)} end" for name in names)
        + ")"
    )
    reasons = []
    for name in names:
        before, after = ingest_rules.repeated_key_words(name)
        reasons.append(
            f"case when {given[name]} > 1 then concat({_spark_string(before)}, cast({given[name]} as string), "
            f"{_spark_string(after)}) end"
        )
    fields = ", ".join(f"`{name}` string" for name in names)
    repeated = (
        spark.read.text(paths)
        .select(
            _file_path(),
            F.col("value").alias("_line"),
        )
        .selectExpr("_file", "_line", "json_object_keys(_line) as _keys")
        # Most lines repeat no key, and are told so cheaply.
        .where("size(_keys) > size(array_distinct(_keys))")
        .selectExpr(
            "_file",
            "_line",
            f"{column} as _repeated_column",
            f"concat_ws('; ', {', '.join(reasons)}) as _repeated_reason",
            f"from_json(_line, '{fields}') as _v",
        )
        .where("_repeated_column is not null")
        .selectExpr("_file as _repeated_file", f"_v.`{key}` as _repeated_key", "struct(*) as _suspect")
        .groupBy("_repeated_file", "_repeated_key")
        .agg(F.collect_list("_suspect").alias("_suspects"))
    )
    found = repeated.count()
    if not found:
        return _without_repeats(frame)
    if found <= BROADCAST_REPEATS:
        repeated = F.broadcast(repeated)
    joined = frame.join(
        repeated,
        (frame["_file"] == repeated["_repeated_file"]) & (frame[key] == repeated["_repeated_key"]),
        "left",
    )
    same = " and ".join(
        f"({name} <=> s._v.`{name}` or try_cast({name} as double) = try_cast(s._v.`{name}` as double))"
        for name in names
    )
    hit = f"try_element_at(filter(_suspects, s -> {same}), 1)"
    return joined.selectExpr(
        *(f"`{name}`" for name in frame.columns),
        f"{hit}._repeated_column as _repeated_column",
        f"{hit}._repeated_reason as _repeated_reason",
        f"{hit}._line as _line",
    )


def _events(spark, files: list[EventFile]):
    groups: dict[tuple, list[EventFile]] = {}
    for file in files:
        header = file.header
        groups.setdefault(
            (header.file_format, header.names, header.delimiter, header.native_types), []
        ).append(file)
    frames = [_read_group(spark, group) for group in groups.values()]
    combined = frames[0]
    for frame in frames[1:]:
        combined = combined.unionByName(frame)
    return combined


def run(
    events: Sequence[str],
    out: Path,
    *,
    master: str | None = None,
    conf: Sequence[tuple[str, str]] = (),
    spark=None,
    bounds: config.Ingest | None = None,
) -> dict[str, int]:
    """Roll up the usage events the URIs name into the rollup folder `out`; returns the counts."""
    from pyspark import StorageLevel

    files = event_files(events)
    out.mkdir(parents=True, exist_ok=True)
    (out / rollup_folder.MANIFEST).unlink(missing_ok=True)
    own_session = spark is None
    spark = spark or session(master, conf)
    key = MODEL.key[0]
    # Both are read three times (rollup, rejected, counts): kept on disk, the files are parsed and
    # the keys sorted once.
    bounds = bounds or config.Ingest()
    checked = flagged(_events(spark, files), MODEL, bounds).persist(StorageLevel.DISK_ONLY)
    outcomes = None
    try:
        checked.createOrReplaceTempView("offload_checked")
        spark.sql("select * from offload_checked where _problems = 0").createOrReplaceTempView(
            "offload_valid"
        )
        outcomes = spark.sql(rules.dedup_sql(MODEL, "offload_valid")).persist(StorageLevel.DISK_ONLY)
        outcomes.createOrReplaceTempView("offload_outcomes")
        # usage_events as DuckDB's ingest stores a usage file's events: load_id, and the columns a
        # telemetry importer carries beside the contract, which a usage file leaves null (its estimated
        # cost is none: the rollup sums it to 0).
        carried = ", ".join(f"cast(null as {spark_type}) as {name}" for name, spark_type in CARRIED_COLUMNS)
        spark.sql(
            f"select *, 1 as load_id, {carried} from offload_outcomes where _outcome = 'accepted'"
        ).createOrReplaceTempView("usage_events")
        rollup_columns = ", ".join(
            f"cast({name} as {_rollup_type(sql_type)}) as {name}"
            for name, sql_type in store.USAGE_ROLLUP_COLUMNS
        )
        spark.sql(f"select {rollup_columns} from ({rollup_select_sql()})").write.mode("overwrite").parquet(
            str(out / "rollup")
        )
        key_text = f"concat('{key} ', {_json_string(key)})"
        conflicts = spark.sql(
            f"""
            select _file as file, {key} as key, 'conflict' as outcome, _differs_first as column_name,
                   concat({key_text}, ' repeats an earlier row (', _first_file, ') with a different ', _differs)
                       as reason,
                   to_json(named_struct('file', _file, {_values_pairs()}), map('ignoreNullFields', 'false')) as raw
            from offload_outcomes where _outcome = 'conflict'
            """
        )
        rejections(checked, MODEL, bounds).unionByName(conflicts).write.mode("overwrite").parquet(
            str(out / "rejected")
        )
        counts = spark.sql(
            """
            with outcomes as (
                select _file, 'rejected' as outcome from offload_checked where _problems > 0
                union all
                select _file, _outcome from offload_outcomes
            )
            select _file as file, count(*) as rows_read,
                   count(case when outcome = 'accepted' then 1 end) as accepted,
                   count(case when outcome = 'duplicate' then 1 end) as duplicate,
                   count(case when outcome = 'conflict' then 1 end) as conflict,
                   count(case when outcome = 'rejected' then 1 end) as rejected
            from outcomes group by _file
            """
        )
        counts.coalesce(1).write.mode("overwrite").parquet(str(out / "counts"))
        per_file = [row.asDict() for row in spark.read.parquet(str(out / "counts")).collect()]
        totals = {field: sum(int(row[field]) for row in per_file) for field in ingest.COUNT_FIELDS}
        manifest = {
            "format": rollup_folder.FORMAT,
            "engine": "spark",
            "spark_version": spark.version,
            "master": spark.sparkContext.master,
            "events": list(events),
            "files": len(files),
            "counts": totals,
            "settings": json.loads(bounds.fingerprint())["settings"],
            "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (out / rollup_folder.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        return totals
    finally:
        checked.unpersist()
        if outcomes is not None:
            outcomes.unpersist()
        if own_session:
            spark.stop()


def _rollup_type(sql_type: str) -> str:
    return {"DATE": "date", "VARCHAR": "string", "BIGINT": "bigint"}.get(sql_type, sql_type.lower())


def _values_pairs() -> str:
    return ", ".join(f"'{column.name}', cast({column.name} as string)" for column in schema.columns(MODEL))
