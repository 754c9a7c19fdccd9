"""The command line: offload-metrics ingest | report | alerts | sample | schema | rejects | clear | unload | rollup."""

from __future__ import annotations

import datetime as dt
import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from offload_metrics import kinds


class _Lazy:
    """A module imported on the first use of one of its names: each command pays for what it uses,
    and `offload-metrics --help` imports none of them."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str):
        module = importlib.import_module(self._name)
        self.__dict__.update(vars(module))
        return getattr(module, attribute)


if TYPE_CHECKING:  # the checker sees the modules themselves
    import duckdb

    from offload_metrics import (
        config,
        display,
        export,
        ingest,
        metrics,
        report,
        sample,
        schema,
        store,
        summary,
    )
else:
    duckdb = _Lazy("duckdb")
    config = _Lazy("offload_metrics.config")
    display = _Lazy("offload_metrics.display")
    export = _Lazy("offload_metrics.export")
    ingest = _Lazy("offload_metrics.ingest")
    metrics = _Lazy("offload_metrics.metrics")
    report = _Lazy("offload_metrics.report")
    sample = _Lazy("offload_metrics.sample")
    schema = _Lazy("offload_metrics.schema")
    store = _Lazy("offload_metrics.store")
    summary = _Lazy("offload_metrics.summary")

# Named here rather than read from their modules, so that building the commands imports nothing;
# tests/test_cli.py keeps them equal to store's, config's and sample's.
DB_ENV, DEFAULT_DB_FILE = "OFFLOAD_METRICS_DB", "offload_metrics.duckdb"
SETTINGS_ENV, DEFAULT_SETTINGS_FILE = "OFFLOAD_METRICS_CONFIG", "offload.toml"
SAMPLE_EVENTS, SAMPLE_MONTHS, SAMPLE_SEED = 50_000, 24, 7


class _Choice(click.Choice):
    """A choice whose values are read from their module only when an argument is checked or
    a command's help is shown."""

    def __init__(self, values: Callable[[], Sequence[str]]) -> None:
        self._values = values
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._values())

    @choices.setter
    def choices(self, _value: Sequence[str]) -> None:
        pass


# Piped output has no terminal width; tables then get room enough not to fold their cells.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
# Without markup: file names, values and reasons from the files print as they are ("a[bold]b.csv"),
# and the few coloured words are styled with Text.
console = Console(stderr=True, width=_WIDTH, markup=False)
out = Console(width=_WIDTH, markup=False)

EXIT_FAILED_FILE = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3
EXIT_WEBHOOK = 4

db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Database file (default: ${DB_ENV}, else ./{DEFAULT_DB_FILE}).",
)


config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Settings file (default: ${SETTINGS_ENV}, else ./{DEFAULT_SETTINGS_FILE} if present).",
)


def _settings(config_file: Path | None) -> config.Settings:
    try:
        return config.load_settings(config_file)
    except config.SettingsError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_USAGE)


def _open(db: Path | None, *, must_exist: bool = False, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The database; read_only for commands that only read, so they run beside a dashboard or on a
    read-only file system (an outdated schema is migrated once first, when the file allows)."""
    path = store.db_path(db)
    if must_exist and not path.exists():
        console.print(
            Text.assemble(
                (f"No database at {path}", "red"), ": load files first with 'offload-metrics ingest'."
            )
        )
        sys.exit(EXIT_DATABASE)
    new_folder = not path.parent.exists()
    try:
        if read_only:
            try:
                return store.connect(path, read_only=True)
            except store.OutdatedSchema:
                store.connect(path).close()
                return store.connect(path, read_only=True)
        connection = store.connect(path)
    except store.StoreError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_DATABASE)
    if new_folder:
        console.print(f"Created the folder {path.parent} for the new database {path.name}.")
    return connection


def _who() -> str:
    """The operating system user running the command, as the audit names them."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        return f"uid {os.getuid()}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="offload-metrics")
def main() -> None:
    """Measure how an organisation offloads routine work to AI agents."""


class _ProgressDisplay:
    """A progress bar that appears only once a file has taken more than a second."""

    def __init__(self) -> None:
        self.progress: Any = None  # a rich Progress, imported when the first bar is drawn
        self.task: Any = None

    def tick(self, state: ingest.LoadProgress) -> None:
        if state.elapsed < ingest.PROGRESS_AFTER_SECONDS:
            return
        if self.progress is None:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(state.file, total=1.0)
        self.progress.update(self.task, completed=state.fraction, description=f"{state.file}: {state.phase}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _summary_table(results: list[ingest.LoadResult], failures: list[ingest.IngestError]) -> Table:
    table = Table(title="Load summary", title_justify="left")
    table.add_column("file")
    table.add_column("kind")
    for field in ingest.COUNT_FIELDS:
        table.add_column(field.removeprefix("rows_"), justify="right")
    table.add_column("outcome")
    for result in results:
        outcome = "loaded" if result.status == "loaded" else f"{result.status}: {result.message}"
        if result.ignored_columns:
            outcome += f" (ignored columns: {', '.join(map(ingest.column_named, result.ignored_columns))})"
        table.add_row(
            result.file,
            result.kind,
            *(f"{getattr(result, field):,}" for field in ingest.COUNT_FIELDS),
            outcome,
        )
    for failure in failures:
        table.add_row(failure.file, "", "", "", "", "", "", Text("not loaded", style="red"))
    return table


def _db_flag(db: Path | None) -> str:
    """The --db the user gave, for a command a hint suggests next (nothing when none was given)."""
    return f" --db {db}" if db else ""


@main.command("ingest")
@db_option
@click.option("--kind", type=_Choice(lambda: kinds.ALL), help="Input kind, when it cannot be detected.")
@config_option
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Organisation mapping (TOML or CSV) for telemetry files and vendor cost reports "
    "(default: the setting mapping.file).",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest_command(
    db: Path | None,
    config_file: Path | None,
    kind: str | None,
    mapping_file: Path | None,
    files: tuple[Path, ...],
) -> None:
    """Load CSV, Parquet, JSON Lines, OpenTelemetry or Langfuse FILES, one transaction per file.

    The [ingest] settings (date bounds) and, for telemetry, the mapping apply and are recorded
    with each load."""
    from offload_metrics import mapping

    settings = _settings(config_file)
    try:
        organisation = mapping.load_mapping(
            mapping_file or config.mapping_file(settings, config.settings_path(config_file))
        )
    except mapping.MappingError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_USAGE)
    conn = _open(db)
    results: list[ingest.LoadResult] = []
    failures: list[ingest.IngestError] = []
    for file in files:
        bar = _ProgressDisplay()
        state = ingest.LoadProgress(file=file.name)

        def load_one(progress: ingest.LoadProgress, file: Path = file) -> ingest.LoadResult:
            return ingest.load_file(
                conn, file, kind=kind, progress=progress, settings=settings, mapping=organisation
            )

        try:
            result = ingest.run_with_progress(
                load_one,
                bar.tick,
                state,
            )
            results.append(result)
            store.record_audit(conn, _who(), "load", f"{file.name}: {display.load_outcome(result)}")
        except ingest.IngestError as error:
            failures.append(error)
        finally:
            bar.close()
    out.print(_summary_table(results, failures))
    for result in results:
        if result.records_read is not None and result.status == "loaded":
            out.print(f"{result.file}: {result.message}")
            for reason, count in result.reasons:
                out.print(f"  {count:,} rejected: {reason}")
    for failure in failures:
        console.print(Text.assemble((failure.file, "red"), f": {failure.message}"))
    if any(result.rejected or result.conflict for result in results):
        console.print(
            f"Rejected and conflicting rows, with line and reason: offload-metrics rejects{_db_flag(db)}"
        )
    conn.close()
    sys.exit(EXIT_FAILED_FILE if failures else 0)


@main.command("rejects")
@db_option
@click.option("--load", "load_id", type=int, help="Only this load (see the load ids in the Data page).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many rows (0: all).",
)
@click.option(
    "--format", "output", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@click.option(
    "--unmapped", is_flag=True, help="Only the telemetry values no mapping rule matches, with their counts."
)
def rejects_command(db: Path | None, load_id: int | None, limit: int, output: str, unmapped: bool) -> None:
    """List rejected and conflicting rows with file, line, column and reason, and unmapped values."""
    from offload_metrics import mapping

    conn = _open(db, must_exist=True, read_only=True)
    rejected = store.rejected_rows(conn, load_id=load_id, limit=limit or None)
    total = store.rejected_count(conn, load_id=load_id)
    values = mapping.unmapped_values(conn)
    conn.close()
    frame = values if unmapped else rejected
    if output == "table" and not values.empty:
        table = Table(
            title="Unmapped values (add a mapping rule for each, then load the files again)",
            title_justify="left",
        )
        for column in ("values", "records", "files"):
            table.add_column(column, overflow="fold")
        for row in values.itertuples(index=False):
            table.add_row(row.unmapped, f"{row.records:,}", row.files)
        out.print(table)
        if unmapped:
            return
    if output == "csv":
        click.echo(export.csv_bytes(frame).decode("utf-8"), nl=False)
        return
    if output == "json":
        click.echo(frame.to_json(orient="records", indent=2))
        return
    if frame.empty:
        out.print("No unmapped values." if unmapped else "No rejected or conflicting rows.")
        return
    shown = f"showing {len(frame):,} of {total:,}" if len(frame) < total else f"all {total:,}"
    table = Table(title=f"Rejected and conflicting rows ({shown})", title_justify="left")
    for column in ("load_id", "file_name", "line", "column_name", "outcome", "reason"):
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in frame.itertuples(index=False):
        # A record refused whole (a field too many, not a JSON object) has no column, one from a
        # Spark rollup no line: pandas gives either as NaN, which a table shows as a dash.
        table.add_row(
            str(row.load_id),
            row.file_name,
            display.count(row.line),
            display.text(row.column_name),
            row.outcome,
            row.reason,
        )
    out.print(table)
    if len(frame) < total:
        console.print(
            f"Showing {len(frame):,} of {total:,}: --limit 0 lists them all, --format csv writes them."
        )


@main.command("clear")
@db_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def clear_command(db: Path | None, yes: bool) -> None:
    """Remove every load: all rows, rejected rows and the load history, in one transaction."""
    conn = _open(db, must_exist=True)
    loads = len(store.loads(conn))
    if not yes:
        click.confirm(f"Remove all {loads} loads from {store.db_path(db)}?", abort=True)
    store.clear(conn, _who(), f"cleared {store.db_path(db).name}: {display.plural(loads, 'load')} removed")
    conn.close()
    out.print(f"Removed {loads} loads; the database is empty.")


@main.command("unload")
@db_option
@click.argument("load_id", type=int)
def unload_command(db: Path | None, load_id: int) -> None:
    """Remove one load (LOAD_ID, as in the Data page and 'rejects') with every row it added."""
    conn = _open(db, must_exist=True)
    history = store.loads(conn)
    try:
        removed = store.unload(conn, load_id, _who())
        row = history[history["load_id"] == load_id].iloc[0]
        what = store.unload_detail(load_id, row["kind"], row["file_name"], removed)
    except store.StoreError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_USAGE)
    finally:
        conn.close()
    out.print(what)
    later = history[(history["load_id"] > load_id) & (history["kind"] == row["kind"])]
    skipped = later[(later["duplicate"] > 0) | (later["conflict"] > 0)]
    if not skipped.empty:
        console.print(
            "Later loads of this kind skipped rows as repeats of stored ones, perhaps of this load's: "
            f"loads {', '.join(str(value) for value in skipped['load_id'])}. Unload and load them again "
            "to add those rows."
        )


@main.command("schema")
@click.option("--json", "as_json", is_flag=True, help="Print the contract as JSON Schema.")
@click.option("--kind", type=_Choice(lambda: list(schema.KINDS)), help="Only this input kind.")
def schema_command(as_json: bool, kind: str | None) -> None:
    """Print the data contract: every input kind, its columns and their rules."""
    kinds = [kind] if kind else list(schema.KINDS)
    if as_json:
        documents = schema.json_schema()
        click.echo(json.dumps({name: documents[name] for name in kinds}, indent=2, default=str))
        return
    for name in kinds:
        model = schema.KINDS[name]
        table = Table(
            title=f"{name}: {model.title} (unique key: {', '.join(model.key)})",
            title_justify="left",
        )
        for heading in ("column", "rule", "description"):
            table.add_column(heading, overflow="fold")
        for column in schema.columns(model):
            table.add_row(column.name, column.rule_text, column.description)
        for rule in model.row_rules:
            table.add_row(rule.column, rule.reason, "row rule")
        out.print(table)
        out.print(f"example row: {schema.example_row(model)}\n")


class _Day(click.DateTime):
    """A YYYY-MM-DD date within the default bounds of the dates a file may hold (config.Ingest):
    a date such as 9999-12-31 overflowed a range's month arithmetic and was blamed on the database."""

    def __init__(self) -> None:
        super().__init__(formats=["%Y-%m-%d"])

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        converted = super().convert(value, param, ctx)
        low, high = config.Ingest().min_date, config.Ingest().max_date
        if not low <= converted.date() <= high:
            self.fail(f"{converted.date().isoformat()} is outside {low} to {high}", param, ctx)
        return converted


date_type = _Day()


@main.command("report")
@db_option
@click.option("--as-of", "as_of", type=date_type, help="Report date (default: the latest date in the data).")
@click.option(
    "--from", "date_from", type=date_type, help="Start of the range (default: the start of the data)."
)
@click.option("--to", "date_to", type=date_type, help="End of the range (default: as-of).")
@config_option
@click.option("--function", "functions", multiple=True, help="Only this business function (repeatable).")
@click.option(
    "--business-unit", "business_units", multiple=True, help="Only this business unit (repeatable)."
)
@click.option(
    "--format", "output", type=click.Choice(["json", "csv", "xlsx", "md"]), default="json", show_default=True
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Where to write: a folder for csv (default ./report), a file for xlsx (default ./report.xlsx); "
    "json and md go to standard output unless given, or given as -.",
)
def report_command(
    db: Path | None,
    as_of: dt.datetime | None,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    config_file: Path | None,
    functions: tuple[str, ...],
    business_units: tuple[str, ...],
    output: str,
    out: Path | None,
) -> None:
    """Compute every metric and write the report as JSON, CSV, Excel or Markdown."""
    settings = _settings(config_file)
    conn = _open(db, must_exist=True, read_only=True)
    outside = store.dates_outside(conn, settings.ingest.min_date, settings.ingest.max_date)
    if outside:
        conn.close()
        console.print("The database holds dates this program cannot report on:", style="red")
        for line in outside:
            console.print(f"  {line}")
        console.print("Or remove every load with 'offload-metrics clear'.")
        sys.exit(EXIT_DATABASE)
    _check_choices(conn, "--function", functions, metrics.functions(conn, metrics.Filters()))
    _check_choices(conn, "--business-unit", business_units, metrics.business_units(conn, metrics.Filters()))
    _warn_after_data(conn, as_of)
    filters = metrics.Filters(
        as_of=as_of.date() if as_of else None,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        functions=tuple(functions),
        business_units=tuple(business_units),
    )
    try:
        built = report.build(conn, filters, settings)
    except metrics.FilterError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_USAGE)
    except (duckdb.Error, ArithmeticError, ValueError) as error:
        # Whatever the database holds, a message naming the problem rather than a traceback.
        console.print(
            Text.assemble((f"The report could not be computed from {store.db_path(db)}", "red"), f": {error}")
        )
        sys.exit(EXIT_DATABASE)
    finally:
        conn.close()
    target = out or Path("report" if output == "csv" else "report.xlsx")
    try:
        if output == "csv":
            for path in report.write_csv(built, target):
                console.print(f"wrote {path}")
        elif output == "xlsx":
            target.write_bytes(report.excel(built))
            console.print(f"wrote {target}")
        else:
            text = report.to_json(built) if output == "json" else summary.markdown(built)
            if out is None or str(out) == "-":
                click.echo(text)
            else:
                out.write_text(text + "\n", encoding="utf-8")
                console.print(f"wrote {out}")
    except OSError as error:
        # A folder that is missing or read-only, a file where a folder belongs: one sentence.
        reason = error.strerror or str(error)
        console.print(
            Text.assemble(
                (f"The report could not be written to {error.filename or target}", "red"), f": {reason}"
            )
        )
        sys.exit(EXIT_USAGE)


def _check_choices(
    conn: duckdb.DuckDBPyConnection, option: str, given: tuple[str, ...], known: list[str]
) -> None:
    """An unknown filter value is an error naming the known ones, not a report of nulls."""
    unknown = [value for value in given if value not in known]
    if unknown:
        conn.close()
        listed = ", ".join(known) or "none (nothing is loaded)"
        console.print(
            Text.assemble(
                (f"Unknown {option} {', '.join(repr(value) for value in unknown)}.", "red"),
                f" Known: {listed}.",
            )
        )
        sys.exit(EXIT_USAGE)


@main.command("rollup")
@click.option("--engine", type=click.Choice(["spark"]), required=True, help="Where the rollup runs.")
@click.option(
    "--events",
    "events",
    multiple=True,
    required=True,
    metavar="URI",
    help="Usage events as Parquet, CSV or JSON Lines: a file, a folder (searched to any depth) or a glob, "
    "e.g. 'lake/events/month=*/*.parquet'. Repeat for more.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Rollup folder to write.",
)
@click.option("--master", help="Spark master URL, e.g. spark://127.0.0.1:7077 (default: local[*]).")
@click.option("--conf", "conf", multiple=True, metavar="KEY=VALUE", help="A Spark setting. Repeat for more.")
@config_option
def rollup_command(
    engine: str,
    events: tuple[str, ...],
    out_dir: Path,
    master: str | None,
    conf: tuple[str, ...],
    config_file: Path | None,
) -> None:
    """Validate, deduplicate and roll up usage events on Spark into a folder that ingest loads."""
    from offload_metrics import spark_rollup

    bounds = _settings(config_file).ingest

    settings = []
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            console.print(Text.assemble((f"--conf {item}", "red"), ": expected KEY=VALUE"))
            sys.exit(EXIT_USAGE)
        settings.append((key, value))
    try:
        with console.status(f"Rolling up usage events on Spark ({master or 'local'})..."):
            counts = spark_rollup.run(list(events), out_dir, master=master, conf=settings, bounds=bounds)
    except spark_rollup.RollupError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_USAGE)
    table = Table(title=f"Rollup written to {out_dir}", title_justify="left")
    for field in ingest.COUNT_FIELDS:
        table.add_column(field.replace("_", " "), justify="right")
    table.add_row(*(f"{counts[field]:,}" for field in ingest.COUNT_FIELDS))
    out.print(table)
    console.print(f"Load it with: offload-metrics ingest {out_dir}")


def _warn_after_data(conn: duckdb.DuckDBPyConnection, as_of: dt.datetime | None) -> None:
    """A warning on standard error when --as-of is after the latest data: its figures are the last day's."""
    _, last = metrics.data_range(conn)
    if as_of and last and as_of.date() > last:
        console.print(
            Text.assemble(
                ("Warning:", "yellow"),
                f" --as-of {as_of.date()} is after the latest data ({last}): nothing after {last} is loaded, "
                f"so the figures are those of {last} and the gate window ends in days without data.",
            )
        )


@main.command("alerts")
@db_option
@click.option(
    "--as-of", "as_of", type=date_type, help="Alert on this date (default: the latest date in the data)."
)
@config_option
@click.option("--function", "functions", multiple=True, help="Only this business function (repeatable).")
@click.option(
    "--business-unit", "business_units", multiple=True, help="Only this business unit (repeatable)."
)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--min-severity",
    type=click.Choice(["info", "warning", "critical"]),
    default="info",
    show_default=True,
    help="Show, send and fail on alerts at or above this level.",
)
@click.option("--webhook", help="POST the JSON here (default: the alerts.webhook_url setting, if any).")
def alerts_command(
    db: Path | None,
    as_of: dt.datetime | None,
    config_file: Path | None,
    functions: tuple[str, ...],
    business_units: tuple[str, ...],
    output: str,
    min_severity: str,
    webhook: str | None,
) -> None:
    """Print the alerts at as_of; exit 1 when any is at or above --min-severity (for cron or CI)."""
    from offload_metrics import alerts

    settings = _settings(config_file)
    conn = _open(db, must_exist=True, read_only=True)
    _check_choices(conn, "--function", functions, metrics.functions(conn, metrics.Filters()))
    _check_choices(conn, "--business-unit", business_units, metrics.business_units(conn, metrics.Filters()))
    _warn_after_data(conn, as_of)
    filters = metrics.Filters(
        as_of=as_of.date() if as_of else None,
        functions=tuple(functions),
        business_units=tuple(business_units),
    )
    try:
        filters = filters.resolve(conn)
        found = alerts.at_or_above(alerts.evaluate(conn, filters, settings), min_severity)
    except metrics.FilterError as error:
        console.print(str(error), style="red")
        sys.exit(EXIT_USAGE)
    finally:
        conn.close()
    body = alerts.to_json(found, filters.dates.as_of)
    if output == "json":
        click.echo(body)
    elif not found:
        click.echo(f"No alerts at or above {min_severity} as of {filters.as_of}.")
    else:
        click.echo(f"{display.plural(len(found), 'alert')} as of {filters.as_of}:")
        for alert in found:
            click.echo(f"[{alert.severity}] {alert.rule}: {alert.message} (see {alert.page})")
    url = webhook or settings.alerts.webhook_url
    if url:
        try:
            alerts.send(url, body, settings.alerts.webhook_timeout_seconds)
        except alerts.WebhookError as error:
            console.print(Text.assemble((str(error), "red"), "; the alerts above were not delivered."))
            sys.exit(EXIT_WEBHOOK)
    sys.exit(1 if found else 0)


@main.command("sample")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write."
)
@click.option("--events", type=click.IntRange(min=100), default=SAMPLE_EVENTS, show_default=True,
              help="Usage events to generate, roughly: a small number gives the least the story needs "
                   "(its agents and teams each run some); the other files stay in proportion.")  # fmt: skip
@click.option("--months", type=click.IntRange(min=1, max=120), default=SAMPLE_MONTHS, show_default=True,
              help="Months of history (the whole story needs 24).")  # fmt: skip
@click.option(
    "--seed", type=int, default=SAMPLE_SEED, show_default=True, help="The same seed, the same files."
)
@click.option("--clean", is_flag=True, help="No duplicates, conflicts or bad values.")
@click.option("--compress", is_flag=True, help="Write usage events as usage_events.csv.gz.")
@click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The database the printed load command names (nothing is loaded here).",
)  # fmt: skip
@click.option(
    "--viva",
    "viva_out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the network as a Viva Insights group-to-group export, with its mapping, into this folder.",
)
def sample_command(
    out: Path,
    events: int,
    months: int,
    seed: int,
    clean: bool,
    compress: bool,
    db: Path | None,
    viva_out: Path | None,
) -> None:
    """Write the sample organisation's input files (and a manifest) into OUT."""
    with console.status(f"Generating {events:,} usage events and the rest of the story..."):
        result = sample.generate(
            out, events=events, months=months, seed=seed, clean=clean, compress=compress, viva_out=viva_out
        )
    table = Table(title=f"Sample written to {out}", title_justify="left")
    for column in ("file", "rows", "duplicates", "conflicts", "bad values"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for kind, path in result.paths.items():
        defects = result.defects.get(kind, {})
        table.add_row(
            path.name,
            f"{result.rows[kind]:,}",
            *(f"{defects.get(key, 0):,}" for key in ("duplicate", "conflict", "rejected")),
        )
    console.print(table)
    console.print(f"Load it with: offload-metrics ingest{_db_flag(db)} {out}/*")
    if result.viva:
        console.print(
            f"The Viva export holds the same network: offload-metrics ingest{_db_flag(db)} --mapping "
            f"{result.viva['mapping']} {result.viva['viva_collaboration']} (into a database without "
            f"{out}/collaboration.csv)"
        )


if __name__ == "__main__":  # python -m offload_metrics.cli, as the console script
    main()
