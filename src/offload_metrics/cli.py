"""The command line: offload-metrics ingest | report | sample | schema | rejects."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from offload_metrics import config, ingest, metrics, report, sample, schema, store

# Piped output has no terminal width; tables then get room enough not to fold their cells.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(stderr=True, width=_WIDTH)
out = Console(width=_WIDTH)

EXIT_FAILED_FILE = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3

db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Database file (default: ${store.DB_ENV}, else ./{store.DEFAULT_DB_FILE}).",
)


def _open(db: Path | None, *, must_exist: bool = False, read_only: bool = False):
    path = store.db_path(db)
    if must_exist and not path.exists():
        console.print(f"[red]No database at {path}[/red]: load files first with 'offload-metrics ingest'.")
        sys.exit(EXIT_DATABASE)
    try:
        return store.connect(path, read_only=read_only)
    except store.StoreError as error:
        console.print(f"[red]{error}[/red]")
        sys.exit(EXIT_DATABASE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="offload-metrics")
def main() -> None:
    """Measure how an organisation offloads routine work to AI agents."""


class _ProgressDisplay:
    """A progress bar that appears only once a file has taken more than a second."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.task = None

    def tick(self, state: ingest.LoadProgress) -> None:
        if state.elapsed < ingest.PROGRESS_AFTER_SECONDS:
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"),
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
            outcome += f" (ignored columns: {', '.join(result.ignored_columns)})"
        table.add_row(
            result.file,
            result.kind,
            *(f"{getattr(result, field):,}" for field in ingest.COUNT_FIELDS),
            outcome,
        )
    for failure in failures:
        table.add_row(failure.file, "", "", "", "", "", "", "[red]not loaded[/red]")
    return table


def _db_flag(db: Path | None) -> str:
    """The --db the user gave, for a command a hint suggests next (nothing when none was given)."""
    return f" --db {db}" if db else ""


@main.command("ingest")
@db_option
@click.option("--kind", type=click.Choice(list(schema.KINDS)), help="Input kind, when it cannot be detected.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest_command(db: Path | None, kind: str | None, files: tuple[Path, ...]) -> None:
    """Load CSV, Parquet or JSON Lines FILES into the database, one transaction per file."""
    conn = _open(db)
    results: list[ingest.LoadResult] = []
    failures: list[ingest.IngestError] = []
    for file in files:
        display = _ProgressDisplay()
        state = ingest.LoadProgress(file=file.name)
        try:
            result = ingest.run_with_progress(
                lambda progress, file=file: ingest.load_file(conn, file, kind=kind, progress=progress),
                display.tick,
                state,
            )
            results.append(result)
        except ingest.IngestError as error:
            failures.append(error)
        finally:
            display.close()
    out.print(_summary_table(results, failures))
    for failure in failures:
        console.print(f"[red]{failure.file}[/red]: {failure.message}")
    if any(result.rejected or result.conflict for result in results):
        console.print(
            f"Rejected and conflicting rows, with line and reason: offload-metrics rejects{_db_flag(db)}"
        )
    conn.close()
    sys.exit(EXIT_FAILED_FILE if failures else 0)


@main.command("rejects")
@db_option
@click.option("--load", "load_id", type=int, help="Only this load (see the load ids in the Data page).")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many rows (0: all).")
@click.option(
    "--format", "output", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
def rejects_command(db: Path | None, load_id: int | None, limit: int, output: str) -> None:
    """List rejected and conflicting rows with file, line, column and reason."""
    conn = _open(db, must_exist=True, read_only=True)
    frame = store.rejected_rows(conn, load_id=load_id, limit=limit or None)
    total = store.rejected_count(conn, load_id=load_id)
    conn.close()
    if output == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
        return
    if output == "json":
        click.echo(frame.to_json(orient="records", indent=2))
        return
    if frame.empty:
        out.print("No rejected or conflicting rows.")
        return
    shown = f"showing {len(frame):,} of {total:,}" if len(frame) < total else f"all {total:,}"
    table = Table(title=f"Rejected and conflicting rows ({shown})", title_justify="left")
    for column in ("load_id", "file_name", "line", "column_name", "outcome", "reason"):
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(
            str(row.load_id), row.file_name, str(row.line), row.column_name or "", row.outcome, row.reason
        )
    out.print(table)
    if len(frame) < total:
        console.print(
            f"Showing {len(frame):,} of {total:,}: --limit 0 lists them all, --format csv writes them."
        )


@main.command("schema")
@click.option("--json", "as_json", is_flag=True, help="Print the contract as JSON Schema.")
@click.option("--kind", type=click.Choice(list(schema.KINDS)), help="Only this input kind.")
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
        for column in ("column", "rule", "description"):
            table.add_column(column, overflow="fold")
        for column in schema.columns(model):
            table.add_row(column.name, column.rule_text, column.description)
        for rule in model.row_rules:
            table.add_row(rule.column, rule.reason, "row rule")
        out.print(table)
        out.print(f"example row: {schema.example_row(model)}\n")


date_type = click.DateTime(formats=["%Y-%m-%d"])


@main.command("report")
@db_option
@click.option("--as-of", "as_of", type=date_type, help="Report date (default: the latest date in the data).")
@click.option(
    "--from", "date_from", type=date_type, help="Start of the range (default: the start of the data)."
)
@click.option("--to", "date_to", type=date_type, help="End of the range (default: as-of).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Settings file (default: ${config.SETTINGS_ENV}, else ./{config.DEFAULT_SETTINGS_FILE} if present).",
)
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
    "json and md go to standard output unless given.",
)
def report_command(
    db, as_of, date_from, date_to, config_file, functions, business_units, output, out
) -> None:
    """Compute every metric and write the report as JSON, CSV, Excel or Markdown."""
    try:
        settings = config.load_settings(config_file)
    except config.SettingsError as error:
        console.print(f"[red]{error}[/red]")
        sys.exit(EXIT_USAGE)
    conn = _open(db, must_exist=True, read_only=True)
    _check_choices(conn, "--function", functions, metrics.functions(conn, metrics.Filters()))
    _check_choices(conn, "--business-unit", business_units, metrics.business_units(conn, metrics.Filters()))
    _, last = metrics.data_range(conn)
    if as_of and last and as_of.date() > last:
        console.print(
            f"[yellow]Warning:[/yellow] --as-of {as_of.date()} is after the latest data ({last}): nothing after "
            f"{last} is loaded, so the figures are those of {last} and the gate window ends in days without data."
        )
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
        console.print(f"[red]{error}[/red]")
        sys.exit(EXIT_USAGE)
    finally:
        conn.close()
    if output == "csv":
        for path in report.write_csv(built, out or Path("report")):
            console.print(f"wrote {path}")
        return
    if output == "xlsx":
        path = out or Path("report.xlsx")
        path.write_bytes(report.excel(built))
        console.print(f"wrote {path}")
        return
    text = report.to_json(built) if output == "json" else report.markdown(built)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        click.echo(text)


def _check_choices(conn, option: str, given: tuple[str, ...], known: list[str]) -> None:
    """An unknown filter value is an error naming the known ones, not a report of nulls."""
    unknown = [value for value in given if value not in known]
    if unknown:
        conn.close()
        listed = ", ".join(known) or "none (nothing is loaded)"
        console.print(
            f"[red]Unknown {option} {', '.join(repr(value) for value in unknown)}.[/red] Known: {listed}."
        )
        sys.exit(EXIT_USAGE)


@main.command("sample")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write."
)
@click.option("--events", type=click.IntRange(min=0), default=sample.DEFAULT_EVENTS, show_default=True,
              help="Usage events to generate; the other files stay in proportion.")  # fmt: skip
@click.option("--months", type=click.IntRange(min=1, max=120), default=sample.DEFAULT_MONTHS, show_default=True,
              help="Months of history (the whole story needs 24).")  # fmt: skip
@click.option(
    "--seed", type=int, default=sample.DEFAULT_SEED, show_default=True, help="The same seed, the same files."
)
@click.option("--clean", is_flag=True, help="No duplicates, conflicts or bad values.")
@click.option("--compress", is_flag=True, help="Write usage events as usage_events.csv.gz.")
@click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="The database the printed load command names (nothing is loaded here).",
)  # fmt: skip
def sample_command(
    out: Path, events: int, months: int, seed: int, clean: bool, compress: bool, db: Path | None
) -> None:
    """Write the sample organisation's five input files (and a manifest) into OUT."""
    with console.status(f"Generating {events:,} usage events and the rest of the story..."):
        result = sample.generate(out, events=events, months=months, seed=seed, clean=clean, compress=compress)
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
