"""Streamlit glue shared by the frame and the pages: connection, cached metrics, filters, tiles.

Pages read like a description of the screen; every query, cache and format lives here or below.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import altair as alt
import duckdb
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from offload_metrics import auth, config, definitions, display, ingest, kinds, metrics, startup, store
from offload_metrics.config import Settings

SAMPLE_ENV = "OFFLOAD_METRICS_SAMPLE"
PAGES = Path(__file__).resolve().parent / "app_pages"
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
SAMPLE_FILES = (
    "agents.csv",
    "org_baseline.csv",
    "replication_events.csv",
    "time_saved.csv",
    "usage_events.csv.gz",
    "collaboration.csv",
)
UPLOAD_TYPES = ["csv", "tsv", "txt", "parquet", "pq", "jsonl", "ndjson", "json", "gz", "zip"]


# --- the database ---------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, on_release=lambda database: database.close())
def _database(path: str) -> store.SharedDatabase:
    return store.SharedDatabase(path)


def database() -> store.SharedDatabase:
    """The database file, held read-only by this process except while it loads, clears or saves."""
    try:
        return _database(str(store.db_path().resolve()))
    except store.StoreError as error:
        st.error(str(error))
        st.stop()


@contextlib.contextmanager
def cursor():
    """A cursor of its own for one or more queries, on the read-only connection; inside a page's
    shared block (page_results), it shares the block's results with the page's other cursors."""
    try:
        db = database()
        with db.reading() as conn:
            metrics.join_shared(conn, db)
            yield conn
    except store.StoreError as error:
        st.error(str(error))
        st.stop()


# The page that writes (loads, clears, settings): its figures are read after its own writes.
WRITING_PAGE = "data"


def page_results(page_path: str) -> contextlib.AbstractContextManager[None]:
    """The block a page runs in: for a page that only reads, one metrics.shared_results() block, so
    a figure two of its parts ask for (the Overview's tiles and its executive summary, which is the
    whole report) is computed once per run (10M realistic events: the Overview's figures 1.2 s to
    0.84 s, Where to seed next 0.77 s to 0.46 s); the page that writes runs without one."""
    return contextlib.nullcontext() if page_path == WRITING_PAGE else metrics.shared_results()


@contextlib.contextmanager
def writing():
    """The read-write connection for one load, clear or settings save; busy: say so and stop."""
    try:
        with database().writing() as conn:
            yield conn
    except store.StoreError as error:
        st.error(str(error))
        st.stop()


def data_version() -> tuple[int, int]:
    """Changes whenever a load or a clear changes the data: part of every cache key."""
    with cursor() as conn:
        row = conn.execute("select coalesce(max(load_id), 0), count(*) from loads").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def sample_folder() -> Path:
    return Path(os.environ.get("OFFLOAD_METRICS_SAMPLE_DIR") or Path.cwd() / "sample_data")


@st.cache_resource(show_spinner=False)
def _process(path: str) -> dict[str, object]:
    """State shared by every session of this server process, per database file."""
    # Re-entrant: the sample load takes it and then loads files, which take it too.
    return {"lock": threading.RLock(), "sample_checked": False}


def sample_disabled() -> bool:
    return os.environ.get(SAMPLE_ENV, "on").lower() in ("0", "off", "false", "no")


def start_on_sample(force: bool = False) -> list[ingest.LoadResult]:
    """An empty database starts on the bundled sample, once per process (or when an admin asks)."""
    if force:
        auth.require(auth.Capability.LOAD)
    state = _process(str(store.db_path().resolve()))
    with state["lock"]:  # type: ignore[attr-defined]  # the process state maps names to a lock, flags and a connection
        if state["sample_checked"] and not force:
            return []
        state["sample_checked"] = True
        if (sample_disabled() and not force) or has_data():
            return []
        if not _sample_paths():
            return []
        with st.status("Loading the bundled sample data...", expanded=False) as status, writing() as conn:
            results = _load_sample(conn, status.write, SAMPLE_LOADER if not force else None)
            status.update(label="Loaded the bundled sample data", state="complete")
        # For the terminal that started the server (make run): where the data went.
        print(f"Loaded the bundled sample into {store.db_path().resolve()}", flush=True)
        return results


def _sample_paths() -> list[Path]:
    folder = sample_folder()
    return [folder / name for name in SAMPLE_FILES if (folder / name).exists()]


def _load_sample(
    conn: duckdb.DuckDBPyConnection,
    say: Callable[[str], object],
    who: str | None,
    fail: Callable[[str], object] | None = None,
) -> list[ingest.LoadResult]:
    """Load the bundled sample's files and remember its last load (the loads up to it are the sample's);
    the results of the files that loaded, `fail` told of each that did not."""
    results = _load_files(conn, _sample_paths(), say, None, who, fail=fail)
    if results:
        version = store.scalar(conn, "select coalesce(max(load_id), 0) from loads")
        store.set_meta(conn, SAMPLE_KEY, str(version))
    return results


# The last load id of the bundled sample: loads up to it are the sample's (it loads only into an empty
# database, and a clear forgets it).
SAMPLE_KEY = startup.SAMPLE_KEY
# Who the audit names for the sample an empty database starts on (no one asked for it).
SAMPLE_LOADER = "the dashboard (first start)"


def _sample_last_load() -> int | None:
    with cursor() as conn:
        last = store.get_meta(conn, SAMPLE_KEY)
    return int(last) if last is not None else None


def has_sample() -> bool:
    """Whether any rows of the bundled sample are in the database (alone or mixed with the user's)."""
    last = _sample_last_load()
    if last is None:
        return False
    with cursor() as conn:
        row = conn.execute("select count(*) from loads where load_id <= ?", [last]).fetchone()
    return bool(row and row[0])


def showing_sample() -> bool:
    """Whether the database holds the bundled sample and nothing else (so it can go in one click)."""
    last = _sample_last_load()
    return last is not None and data_version()[0] == last and has_sample()


def sample_notice(place: DeltaGenerator | None = None, with_button: bool = True) -> None:
    """On every page while sample rows are in the database: say so, and how to be rid of them.

    Drawn into `place` (an empty slot at the top of the sidebar): once before the page, so it shows
    at once, and again after it, so that a file the page just loaded counts and the button is there.
    """
    place = place if place is not None else st.sidebar.empty()
    if showing_sample():
        with place.container():
            st.info("Showing the bundled sample organisation, not your data.", icon=":material/science:")
            if with_button and st.button(
                "Clear the sample and load my own files", key="clear_sample", width="stretch"
            ):
                clear_database()
                st.switch_page(PAGES / "data.py")
    elif has_sample():
        place.warning(
            "The bundled sample organisation is mixed with your files: every figure includes it. Start over "
            "on the Data page to keep only your own.",
            icon=":material/science:",
        )
    else:
        place.empty()


def replace_sample(paths: Sequence[Path], say: Callable[[str], object], names=None, kind=None, fail=None):
    """Clear the sample and load the user's files in one step. When none of them adds a row (each
    refused, or every row rejected), the sample is loaded back from its files, so that a failed
    replacement leaves the sample to look at (under new load ids) instead of an empty database."""
    clear_database()
    results = load_files(paths, say, names, kind, fail)
    if any(result.accepted for result in results) or not _sample_paths():
        return results
    fail = fail or say
    problems: list[str] = []
    with writing() as conn:
        restored = _load_sample(conn, lambda _: None, None, problems.append)
    if restored and not problems:
        fail("None of the files added a row, so the bundled sample was loaded back in their place.")
    else:
        fail(
            "None of the files added a row, and the bundled sample could not be loaded back in full: "
            f"{' '.join(problems) or 'none of its files loaded.'} Load your corrected files on this page."
        )
    return results


def load_files(
    paths: Sequence[Path],
    say: Callable[[str], object],
    names: Sequence[str] | None = None,
    kind: str | None = None,
    fail: Callable[[str], object] | None = None,
):
    """Load files one by one with a progress bar; say what happened to each (`fail` for a file that
    could not be loaded). One session of this server loads at a time (each load takes the next id)."""
    auth.require(auth.Capability.LOAD)
    with writing() as conn:
        return _load_files(conn, paths, say, names, None, kind, fail)


def web_message(message: str) -> str:
    """An ingest message for someone on the Data page, who names the kind with the Kind menu: kinds
    by the menu's words, and the columns each kind needs one kind a line."""
    message = message.replace(
        "name the kind with --kind", "choose its kind under 'Kind of file' and load it again"
    )
    for kind in kinds.ALL:
        named = kind_label(kind)
        message = message.replace(f"is not a {kind} file", f"is not a {named} file")
        message = re.sub(rf"(?m)^  {kind}: ", f"- {named}: ", message)
    return message


FIRST_REJECTIONS = 3  # how many of a load's rejected rows the Data page names at the upload


def turned_away_note(result: ingest.LoadResult) -> str:
    """What a load did not store, as Markdown: how many rows, and the first few with their line,
    column and reason (all of them are in the rejected rows table)."""
    with cursor() as conn:
        first = store.rejected_rows(conn, load_id=result.load_id, limit=FIRST_REJECTIONS)
    what = display.listed(
        [f"{display.count(count)} {word}" for count, word in ((result.rejected, "rejected"), (result.conflict, "conflicting"))
         if count]
    )  # fmt: skip
    head = f"**{display.plain(result.file)}**: {what} of {display.plural(result.rows_read, 'row')} read, not loaded."
    items = []
    for row in first.itertuples(index=False):
        # A reason names its column already ("status: must be one of ...").
        where = "" if display.missing(row.line) else f"line {int(row.line):,}: "
        items.append(f"- {where}{display.plain(row.reason)}")
    tail = "Every one is listed under Rejected and conflicting rows below."
    return "\n\n".join(
        [head + (" The first:" if items else ""), *(["\n".join(items)] if items else []), tail]
    )


def kind_label(kind: str) -> str:
    """A kind as the Data page's menu names it (Usage events), else in words (Langfuse scores)."""
    if kind in kinds.CONTRACT:
        return display.label(kind)
    words = display.KIND_LABELS.get(kind, kind)
    return words[:1].upper() + words[1:]


def _load_files(
    conn: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    say: Callable[[str], object],
    names: Sequence[str] | None,
    who: str | None,
    kind: str | None = None,
    fail: Callable[[str], object] | None = None,
) -> list[ingest.LoadResult]:
    from offload_metrics import mapping

    results: list[ingest.LoadResult] = []
    fail = fail or say
    chosen = settings()  # read here: the load runs in a worker thread, outside the session
    try:
        organisation = mapping.load_mapping(config.mapping_file(chosen, config.settings_path()))
    except mapping.MappingError as error:
        fail(f"Nothing was loaded: the organisation mapping cannot be used: {display.plain(str(error))}")
        return results
    for index, path in enumerate(paths):
        name = names[index] if names else path.name
        shown = display.plain(name)  # progress text is Markdown
        bar = st.progress(0.0, text=f"{shown}: starting")
        state = ingest.LoadProgress(file=name)
        try:
            result = ingest.run_with_progress(
                lambda progress, path=path, name=name: ingest.load_file(
                    conn,
                    path,
                    kind=kind,
                    progress=progress,
                    display_name=name,
                    settings=chosen,
                    mapping=organisation,
                ),
                lambda progress, bar=bar, shown=shown: bar.progress(
                    min(progress.fraction, 1.0), text=f"{shown}: {progress.phase}"
                ),
                state,
            )
        except ingest.IngestError as error:
            bar.empty()
            # Each line of the message on a line of its own (a Markdown hard break), shown as typed.
            said = "  \n".join(
                display.plain(line) for line in web_message(error.message).splitlines() if line.strip()
            )
            fail(f"**{shown}** was not loaded: {said}")
            continue
        bar.empty()
        results.append(result)
        store.record_audit(conn, who or auth.viewer().name, "load", f"{name}: {display.load_outcome(result)}")
        say(f"**{shown}**: {display.plain(display.load_outcome(result))}")
    st.cache_data.clear()
    return results


# Bytes of a file name every common file system takes (most allow 255), with room for the index.
UPLOAD_NAME_BYTES = 200


def upload_file_name(index: int, name: str) -> str:
    """The name an upload is saved under: its own, or, when too long, shortened keeping its extensions
    (ingest reads the format from them) and made unique by a digest of the whole name."""
    base = Path(name.replace("\\", "/")).name.replace("\0", "") or "upload"
    if len(base.encode()) <= UPLOAD_NAME_BYTES:
        return f"{index}-{base}"
    extensions = "".join(part for part in Path(base).suffixes[-2:] if len(part) <= 12)
    digest = hashlib.sha256(base.encode()).hexdigest()[:12]
    room = UPLOAD_NAME_BYTES - len(extensions.encode()) - len(digest) - 1
    stem = base.encode()[:room].decode("utf-8", errors="ignore")
    return f"{index}-{stem}-{digest}{extensions}"


@contextlib.contextmanager
def uploaded(files):
    """Uploaded files written to a private temporary folder for ingest to read, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="offload-upload-") as folder:
        paths, names = [], []
        for index, upload in enumerate(files):
            path = Path(folder) / upload_file_name(index, upload.name)
            path.write_bytes(upload.getvalue())
            paths.append(path)
            names.append(upload.name)
        yield paths, names


# --- settings and filters ----------------------------------------------------------------------------


def settings() -> Settings:
    """The session's settings: the settings file's, until changed on the Data page."""
    if "settings" not in st.session_state:
        try:
            st.session_state["settings"] = config.load_settings()
        except config.SettingsError as error:
            st.session_state["settings"] = Settings()
            st.session_state["settings_problem"] = str(error)
    return st.session_state["settings"]


FILTER_KEYS = ("as_of", "period", "range", "function", "business_unit")


def _range_for(preset: str, as_of: dt.date, first: dt.date) -> tuple[dt.date, dt.date]:
    start, end = metrics.preset_range(preset, as_of, first)
    return max(start, first), max(min(end, as_of), first)


def _on_period(first: dt.date, last: dt.date) -> None:
    """A quick range fills the date inputs, so that they always show what applies."""
    preset = st.session_state.get("period")
    if preset in metrics.PRESETS:
        as_of = st.session_state.get("as_of") or last
        st.session_state["range"] = _range_for(preset, as_of, first)


OUTSIDE_AS_OF = "linked_as_of_outside"  # session key: what the sidebar says of a link's refused As of


def _on_as_of(first: dt.date, last: dt.date) -> None:
    """A new as_of moves a quick range with it, and a custom range never ends after as_of."""
    st.session_state.pop(OUTSIDE_AS_OF, None)
    as_of = st.session_state.get("as_of") or last
    preset = st.session_state.get("period", metrics.PRESETS[0])
    if preset in metrics.PRESETS:
        st.session_state["range"] = _range_for(preset, as_of, first)
        return
    picked = st.session_state.get("range") or (first, last)
    start, end = (picked[0], picked[-1]) if len(picked) else (first, last)
    st.session_state["range"] = (min(start, as_of), min(end, as_of))


def _follow_linked_period(first: dt.date, last: dt.date) -> None:
    """A link may carry a period or an as_of without the range they imply (typed by hand, or cut
    short): on a session's first run the range then follows them as it does when they are chosen,
    so that "Last quarter" never shows the figures of all data, nor the range box months past as_of."""
    if "range" in st.session_state or "range" in st.query_params:
        return
    period = st.query_params.get("period", metrics.PRESETS[0])
    try:
        linked: dt.date | None = dt.date.fromisoformat(st.query_params.get("as_of", ""))
    except ValueError:
        linked = None
    # A date outside the data is one the As of box refuses (it shows the latest date): the range
    # follows that date, not the edge of the data, and the sidebar says the link's date was not used.
    as_of = linked if linked is not None and first <= linked <= last else last
    if linked is not None and as_of != linked:
        st.session_state[OUTSIDE_AS_OF] = (
            f"The link's As of, {linked:%Y-%m-%d}, is outside the data ({first:%Y-%m-%d} to {last:%Y-%m-%d}): "
            f"showing as of {last:%Y-%m-%d}."
        )
    if period in metrics.PRESETS:
        st.session_state["range"] = _range_for(period, as_of, first)
    elif as_of < last:
        st.session_state["range"] = (first, as_of)


def _on_range() -> None:
    st.session_state["period"] = metrics.CUSTOM


def problem(error: Exception) -> str:
    """What went wrong, in one line: for messages that name what could not be done and why."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300].rstrip(".")


def sidebar_filters() -> metrics.Filters:
    """The shared filters, kept in the URL so that a view can be shared by link. Below them, the
    months that actually apply (whole months, never past as_of) and the period compared with.
    Whatever the data holds, the pages still run (on all of it) when the filters cannot be drawn."""
    try:
        return _sidebar_filters()
    except Exception as error:  # any data at all must leave the pages, and the Data page, working
        st.sidebar.warning(
            f"The filters could not be shown: {problem(error)}. The pages show all the data; look for a bad "
            "load on the Data page.",
            icon=":material/warning:",
        )
        return metrics.Filters()


def _sidebar_filters() -> metrics.Filters:
    version = data_version()
    first, last = _data_range(version)
    names = _function_choices(version)
    if first is None or last is None:
        st.sidebar.caption("Filters appear once data is loaded.")
        return metrics.Filters()
    if not isinstance(first, dt.date) or not isinstance(last, dt.date):  # DuckDB gives BC dates as text
        raise ValueError(
            f"the data's dates run from {first} to {last}, beyond the dates a calendar here holds"
        )
    st.sidebar.header("Filters")
    _follow_linked_period(first, last)
    as_of = st.sidebar.date_input(
        "As of", value=last, min_value=first, max_value=last, key="as_of", bind="query-params",
        format="YYYY-MM-DD", on_change=_on_as_of, args=(first, last),
        help="The report date: the gate window ends here and phases are those of its month. "
        "Defaults to the latest date in the data.",
    )  # fmt: skip
    as_of = as_of if isinstance(as_of, dt.date) else last
    if OUTSIDE_AS_OF in st.session_state:
        st.sidebar.warning(st.session_state[OUTSIDE_AS_OF], icon=":material/event_busy:")
    st.sidebar.selectbox(
        "Period", [*metrics.PRESETS, metrics.CUSTOM], key="period", bind="query-params",
        on_change=_on_period, args=(first, last),
        help="Quick ranges in whole months ending with the As of month; choose dates below for any other.",
    )  # fmt: skip
    picked = st.sidebar.date_input(
        "Date range", value=(first, last), min_value=first, max_value=last, key="range", bind="query-params",
        format="YYYY-MM-DD", on_change=_on_range,
        help="Totals and monthly tables cover these months (a date inside a month takes the whole month); "
        "milestones use all history up to As of.",
    )  # fmt: skip
    chosen_functions = st.sidebar.multiselect(
        "Function", names, key="function", bind="query-params", placeholder="All functions",
        help="Only these business functions (every table is narrowed the same way).",
    )  # fmt: skip
    units = _unit_choices(tuple(chosen_functions), version)
    chosen_units = st.sidebar.multiselect(
        "Business unit", units, key="business_unit", bind="query-params", placeholder="All business units",
        help="Only these business units.",
    )  # fmt: skip
    date_from, date_to = (
        (picked[0], picked[-1]) if isinstance(picked, tuple | list) and picked else (first, last)
    )
    chosen = metrics.Filters(
        as_of=as_of,
        date_from=date_from,
        date_to=min(date_to, as_of),
        functions=tuple(chosen_functions),
        business_units=tuple(chosen_units),
    )
    st.sidebar.caption(applied_text(chosen, version))
    enter_applies_dates()
    if st.sidebar.button("Reset filters", key="reset_filters", width="stretch"):
        for key in FILTER_KEYS:
            st.session_state.pop(key, None)
        st.rerun()
    return chosen


# A date field applies when it loses focus; Enter should apply it too. Our own script, installed
# once per page: on Enter in a date field, it moves the focus out of the field, which applies it.
_ENTER_APPLIES_DATES = """<script>
if (!document.__offloadEnterApplies) {
  document.__offloadEnterApplies = true;
  document.addEventListener("keydown", (event) => {
    const field = event.target.closest && event.target.closest("[data-testid='stDateInputField']");
    if (event.key === "Enter" && field) {
      // What a click beside the field does: a press outside it, then the focus leaves it.
      setTimeout(() => {
        for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]) {
          document.body.dispatchEvent(new MouseEvent(type, { bubbles: true }));
        }
        document.activeElement && document.activeElement.blur();
      }, 0);
    }
  }, true);
}
</script>"""


def enter_applies_dates() -> None:
    with st.sidebar:
        st.html(_ENTER_APPLIES_DATES, unsafe_allow_javascript=True)


def applied_text(chosen: metrics.Filters, version: tuple[int, int]) -> str:
    """What the figures cover, as resolved: whole months, never past as_of; and the comparison."""
    try:
        resolved, previous = _resolved(dataclasses.astuple(chosen), version)
    except metrics.FilterError as error:
        return f"Nothing applies: {error}"
    except Exception as error:  # dates the calendar cannot step past (9999): the page names the figures
        return f"The applied months could not be worked out: {problem(error)}."
    assert resolved.date_from is not None and resolved.date_to is not None, "resolved filters have dates"
    months = metrics.months_between(resolved.date_from, resolved.date_to)
    compared = (
        f"changes are against {display.period(previous.date_from, previous.date_to)}"
        if metrics.previous_has_data(previous, _data_range(version)[0])
        else "no data before it, so no change is shown"
    )
    return (
        f"Showing **{display.period(resolved.date_from, resolved.date_to)}** "
        f"({display.plural(months, 'month')}, as of {display.day(resolved.as_of)}); {compared}."
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _resolved(filters: tuple, version: tuple[int, int]) -> tuple[metrics.Filters, metrics.Filters]:
    with cursor() as conn:
        resolved = metrics.Filters(*filters).resolve(conn)
    return resolved, metrics.previous_period(resolved)


# The sidebar runs on every rerun: what it shows changes only with the data.


@st.cache_data(show_spinner=False, max_entries=8)
def _data_range(version: tuple[int, int]) -> tuple[dt.date | None, dt.date | None]:
    with cursor() as conn:
        return metrics.data_range(conn)


def every_function() -> list[str]:
    """Every function in the data, whatever the filters, in order: the sidebar's choices, and the
    order that gives each function its colour on every chart (charts.function_scale)."""
    return _function_choices(data_version())


@st.cache_data(show_spinner=False, max_entries=8)
def _function_choices(version: tuple[int, int]) -> list[str]:
    with cursor() as conn:
        return metrics.functions(conn, metrics.Filters())


@st.cache_data(show_spinner=False, max_entries=64)
def _unit_choices(functions: tuple[str, ...], version: tuple[int, int]) -> list[str]:
    with cursor() as conn:
        return metrics.business_units(conn, metrics.Filters(functions=functions))


def current_filters() -> metrics.Filters:
    return st.session_state.get("filters", metrics.Filters())


# --- cached metrics ---------------------------------------------------------------------------------


Result = TypeVar("Result")


def _cache_name(function: Callable[..., object]) -> str:
    """The module and name of a metric function: its part of the cache key."""
    return f"{function.__module__}.{function.__qualname__}"


# `name` stands for `_function` in the cache key (Streamlit does not hash the leading-underscore
# argument): the function itself is what runs.
@st.cache_data(show_spinner=False, max_entries=512)
def _cached(
    name: str,
    _function: Callable[..., object],
    filters: tuple,
    settings_json: str,
    by: tuple[str, ...],
    version: tuple[int, int],
):
    with cursor() as conn:
        chosen, settings = metrics.Filters(*filters), Settings.model_validate_json(settings_json)
        return _function(conn, chosen, settings, by) if by else _function(conn, chosen, settings)


@overload
def get(
    function: Callable[..., Result], by: Sequence[str] = (), *, previous: Literal[False] = False
) -> Result: ...
@overload
def get(function: Callable[..., Result], by: Sequence[str] = (), *, previous: bool) -> Result | None: ...
def get(function: Callable[..., Result], by: Sequence[str] = (), *, previous: bool = False) -> Result | None:
    """A metric (a function taking the connection, filters and settings, and `by` when given) for
    the current filters and settings, from the cache when nothing changed; with previous=True, for
    the previous period (metrics.previous_period), or None when that period has no data. Without
    finance figures for a viewer who may not see money."""
    chosen = current_filters()
    try:
        if previous:
            _, before = _resolved(dataclasses.astuple(chosen), data_version())
            if not metrics.previous_has_data(before, _data_range(data_version())[0]):
                return None
            chosen = before
        return later(function, by, chosen)()
    except metrics.FilterError as error:
        st.warning(str(error))
        st.stop()
    except Exception as error:  # a figure the data does not allow: say which and why, keep the app up
        st.warning(
            f"The {function.__name__.replace('_', ' ')} figures could not be computed: {problem(error)}. "
            "The Data page shows what was loaded and can remove it.",
            icon=":material/warning:",
        )
        st.stop()


def later(
    function: Callable[..., Result], by: Sequence[str] = (), filters: metrics.Filters | None = None
) -> Callable[[], Result]:
    """ui.get(function, by) as a call to make later, or now: a download's data is made only when it
    is clicked (on a thread of its own, outside the page's run). The filters (the current ones unless
    given), settings, data and the viewer's access are this run's; results come from the cache when
    nothing changed. Without finance figures for a viewer who may not see money: not even sent to
    the browser (a chart carries its whole frame)."""
    chosen = dataclasses.astuple(filters if filters is not None else current_filters())
    settings_json = settings().model_dump_json()
    version = data_version()
    may_see_money = auth.can_see_money()

    def compute() -> Result:
        result = _cached(_cache_name(function), function, chosen, settings_json, tuple(by), version)
        return result if may_see_money else auth.without_money(result)  # type: ignore[return-value]  # it returns the kind of value it is given

    return compute


def export_about() -> list[tuple[str, str]]:
    """What a download covers: as of, the applied range, the filters and the settings that differ."""
    resolved, _ = _resolved(dataclasses.astuple(current_filters()), data_version())
    changed = config.non_defaults(settings())
    return [
        ("As of", display.day(resolved.as_of) or "—"),
        ("Range", f"{display.period(resolved.date_from, resolved.date_to)} "
                  f"({display.day(resolved.date_from)} to {display.day(resolved.date_to)})"),
        ("Functions", ", ".join(resolved.functions) or "All"),
        ("Business units", ", ".join(resolved.business_units) or "All"),
        ("Settings that differ from the defaults",
         "; ".join(f"{key} = {value} (default {default})" for key, value, default in changed) or "None"),
        ("Database", store.db_path().name),
    ]  # fmt: skip


def loaded_kinds() -> set[str]:
    """The input kinds with at least one accepted row."""
    return _loaded_kinds(data_version())


@st.cache_data(show_spinner=False, max_entries=8)
def _loaded_kinds(version: tuple[int, int]) -> set[str]:
    with cursor() as conn:
        return metrics.loaded_kinds(conn)


def missing_kinds(*kinds: str) -> list[str]:
    """Which of these input kinds nothing has been loaded of."""
    present = loaded_kinds()
    return [kind for kind in kinds if kind not in present]


def needs_note(kinds: Sequence[str]) -> str:
    return f"Load {display.kinds(kinds)} to see this."


# --- showing --------------------------------------------------------------------------------------------


def has_data() -> bool:
    return data_version()[1] > 0


def loads() -> pd.DataFrame:
    with cursor() as conn:
        return store.loads(conn)


def rejected(limit: int | None = None) -> pd.DataFrame:
    """Rejected rows; their raw values only for those who may see money (a usage row carries its cost)."""
    with cursor() as conn:
        frame = store.rejected_rows(conn, limit=limit)
    return frame if auth.can_see_money() else frame.drop(columns="raw")


def unmapped() -> pd.DataFrame:
    """Telemetry values no mapping rule matches, with their counts."""
    from offload_metrics import mapping

    with cursor() as conn:
        return mapping.unmapped_values(conn)


def catalog_rejections(agent_ids: tuple[str, ...]) -> pd.DataFrame:
    with cursor() as conn:
        return metrics.catalog_rejections(conn, agent_ids)


def data_quality() -> pd.DataFrame:
    """Where every row read went, over all loads, as a one-row table."""
    with cursor() as conn:
        return pd.DataFrame([metrics.data_quality(conn)])


def clear_database() -> None:
    auth.require(auth.Capability.CLEAR)
    with writing() as conn:
        try:
            store.clear(conn, auth.viewer().name, f"cleared {store.db_path().name}")
        except duckdb.Error as error:
            st.error(f"The database was not cleared, and nothing was changed: {problem(error)}.")
            st.stop()
    st.cache_data.clear()


def save_settings(chosen: Settings) -> Path:
    """Save the session's settings for everyone, recording who saved what in the audit."""
    auth.require(auth.Capability.SAVE_SETTINGS)
    try:
        before = config.load_settings()
    except config.SettingsError:
        before = Settings()
    changed = "; ".join(config.changes(before, chosen)) or "no change"
    with writing() as conn:
        path = config.save_settings(chosen)
        store.record_audit(conn, auth.viewer().name, "save settings", f"{path}: {changed}")
    return path


def audit() -> pd.DataFrame:
    """The audit trail; what a settings save changed only for those who may see money (rates are)."""
    with cursor() as conn:
        frame = store.audit(conn)
    if not auth.can_see_money():
        frame.loc[frame["action"] == "save settings", "detail"] = None
    return frame


def page(title: str, needs: str) -> None:
    """A page's title; without data, what to load instead of the page (and the page stops)."""
    st.title(title)
    if not has_data():
        empty_state(needs)
        st.stop()


def empty_state(what: str) -> None:
    """What to load to see this page, with the way to the Data page."""
    st.info(
        f"{what} Load files on the Data page (or start over with the bundled sample).",
        icon=":material/upload_file:",
    )
    st.page_link(str(PAGES / "data.py"), label="Go to the Data page", icon=":material/database:")


def help_for(metric: str, family: str | None = None) -> str:
    """The hover text of a figure: plain words with the current settings, and where the formula is."""
    return definitions.in_words(metric, family, settings())


def tile(
    label: str,
    value: str,
    metric: str,
    family: str | None = None,
    *,
    note: str | None = None,
    change: str | None = None,
    lower_is_better: bool = False,
    trend: Sequence[float] | None = None,
    needs: Sequence[str] = (),
    delta: str | None = None,
    at_as_of: bool = False,
) -> None:
    """A headline number with its definition on hover; below it, its change against the previous
    period (with direction), a trend line where a series exists, and a note that wraps, never cut.
    When an input kind it needs has not been loaded, it says which instead of a misleading number.
    A finance figure only for those who may see it. A figure `at_as_of` (a share or a count at
    as_of, not a total over the range) changes since the previous period's last month, and says so:
    with last quarter chosen and as_of three months later, "vs the quarter before" would read six
    months' change as one quarter's. Its note names its month, as the tiles beside it total the
    range: "As of 2025-12", and "after the chosen range" when the range ends before it."""
    if auth.is_finance_figure(metric) and not auth.can_see_money():
        return
    # `delta` is a line of context, not a change: it shows as the note does.
    note = note if delta is None else (f"{delta}. {note}" if note else delta)
    chosen = current_filters()
    if at_as_of and chosen.as_of is not None and chosen.date_to is not None:
        month = display.month(chosen.as_of)
        after = chosen.date_to < chosen.as_of.replace(day=1)
        when = f"As of {month}, after the chosen range" if after else f"As of {month}"
        note = f"{when}. {note}" if note else when
    lacking = missing_kinds(*needs)
    if lacking:
        value, change, trend, note = "—", None, None, needs_note(lacking)
    compared = None
    if change is not None:
        _, before = _resolved(dataclasses.astuple(chosen), data_version())
        compared = (
            f"since {display.month(before.date_to)}"
            if at_as_of
            else f"vs {display.period_short(before.date_from, before.date_to)}"
        )
    with st.container(border=True, height="stretch"):
        st.metric(
            label,
            value,
            delta=change,
            delta_color="inverse" if lower_is_better else "normal",
            delta_description=compared,
            help=help_for(metric, family) or None,
            chart_data=sparkline(trend, metric) if trend is not None and len(trend) > 1 else None,
            chart_type="area",
        )
        if note:
            st.caption(note)


def sparkline(trend: Sequence[float], metric: str) -> list[float]:
    """A tile's trend as its hover should read it, for st.metric writes each point's number as it
    is (0.15384615384615385): a share (display.SHARE_COLUMNS) in percent to display.share's places (15.4), money in cents
    (display.cents), any other figure to four significant digits and at least its whole units. The
    line keeps its shape: the sparkline has no axis and fits its scale to the points."""
    if metric in display.SHARE_COLUMNS:
        return [round(value * 100, display.SHARE_PLACES) for value in trend]
    if display.is_money(metric):
        return [float(display.cents(value) or 0) for value in trend]
    return [
        round(value, max(0, 3 - math.floor(math.log10(abs(value)))))
        if value and math.isfinite(value)
        else value
        for value in trend
    ]


def changed(formatter, current: object, previous_frame, column: str) -> str | None:
    """A tile's change: current minus the previous period's value of the column (None without one)."""
    if previous_frame is None:
        return None
    return display.change(formatter, current, first(previous_frame, column))


def result_tile(
    label: str,
    formatter: Callable[[Any], str],
    now: pd.DataFrame,
    before: pd.DataFrame | None,
    column: str,
    family: str,
    **options: Any,
) -> None:
    """A tile of one column of a one-row result, with its change against the same column of the
    previous period's result (None when that period has no data)."""
    current = first(now, column)
    tile(
        label,
        formatter(current),
        column,
        family,
        change=changed(formatter, current, before, column),
        **options,
    )


def series(frame: pd.DataFrame, column: str) -> list[float]:
    """A column as a list of numbers for a tile's trend line (missing months left out)."""
    if frame is None or frame.empty or column not in frame.columns:
        return []
    return [float(value) for value in frame[column] if not display.missing(value)]


MONEY = "money"
SHARE = "share"
COUNT = "count"
NUMBER = "number"
HOURS = "hours"
RATIO = "ratio"
DAYS = "days"
POINTS = "points"
LABEL = "label"
DAY = "day"
MONTH = "month"
TIME = "time"
TEXT = "text"
FIGURE = "figure"  # a figure already in words ("15 days", "not reached"): text, aligned as numbers are
# Numbers stay numbers (so a column sorts as numbers) and show as display.py shows them; codes and
# dates are formatted text.
NUMBER2 = "number2"
LIST = "list"
FLAG = "flag"
NUMBER_FORMATS = {
    MONEY: "dollar", COUNT: "localized", NUMBER: "%,.1f", NUMBER2: "%.2f", HOURS: "%,.0f h", DAYS: "%,.0f days",
}  # fmt: skip
# The same kinds as text, for a column with undefined cells: the grid would show a grey "None" there.
NUMBER_TEXT = {
    MONEY: display.money, COUNT: display.count, NUMBER: display.number,
    NUMBER2: lambda value: display.number(value, 2), HOURS: display.hours, DAYS: display.days,
}  # fmt: skip
# Kinds shown as they are, in a column of their own kind.
OTHER_COLUMNS = {
    # Wide enough for three agent ids side by side: a list cell cut an id in half.
    LIST: lambda title, hover: st.column_config.ListColumn(title, help=hover, width="large"),
    FLAG: lambda title, hover: st.column_config.CheckboxColumn(title, help=hover),
}
TEXT_FORMATTERS = {
    SHARE: display.share,
    POINTS: display.points,
    RATIO: display.ratio,
    LABEL: display.label,
    DAY: display.day,
    MONTH: display.month,
    TIME: lambda value: None if display.missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M"),
    TEXT: lambda value: None if display.missing(value) else str(value),
}
TEXT_FORMATTERS[FIGURE] = TEXT_FORMATTERS[TEXT]  # the same text, aligned otherwise


def shown(frame: pd.DataFrame, columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """The columns of a frame as a table shows them: text kinds formatted by display.py."""
    present = [name for name in columns if name in frame.columns]
    table = frame[present].copy()
    for name in present:
        kind = columns[name][1]
        if kind in TEXT_FORMATTERS:
            # An undefined value reads "—" (each page says why), never the grid's grey "None".
            table[name] = (
                table[name].map(TEXT_FORMATTERS[kind]).astype(object).where(lambda cells: cells.notna(), "—")
            )
    return table


def table(
    frame: pd.DataFrame,
    columns: dict[str, tuple[str, str]],
    family: str | None = None,
    key: str | None = None,
    height: int | Literal["auto", "stretch", "content"] = "auto",
    empty: str | None = None,
    highlight: str | None = None,
    failing: str | None = None,
) -> None:
    """A table of the given columns (name -> (title, kind)), with definitions as column help; the
    `empty` message instead when there are no rows. `highlight` names a gate column whose failing
    values are marked; `failing` names a column listing, per row, the cells to mark as below their bar.
    Finance figures only for those who may see them."""
    if empty is not None and frame.empty:
        st.caption(empty)
        return
    if not auth.can_see_money():
        columns = {name: spec for name, spec in columns.items() if not auth.is_finance_figure(name)}
    table = shown(frame, columns)
    config_for = {}
    for name, (title, kind) in columns.items():
        hover = help_for(name, family) or None
        if kind in OTHER_COLUMNS:
            config_for[name] = OTHER_COLUMNS[kind](title, hover)
        elif kind in NUMBER_FORMATS and name in table.columns and table[name].isna().any():
            # Undefined cells read "—" (each page says why), as in text columns.
            table[name] = table[name].map(NUMBER_TEXT[kind]).astype(object)
            config_for[name] = st.column_config.TextColumn(title, help=hover, alignment="right")
        elif kind in NUMBER_FORMATS:
            config_for[name] = st.column_config.NumberColumn(title, help=hover, format=NUMBER_FORMATS[kind])
        else:
            aligned: Literal["right"] | None = "right" if kind in (SHARE, POINTS, RATIO, FIGURE) else None
            # Words for codes ("Insufficient data") get room enough; other text sizes itself.
            width = _text_width(title, table.get(name)) if kind == LABEL else None
            config_for[name] = st.column_config.TextColumn(title, help=hover, alignment=aligned, width=width)
    data = table
    if highlight and highlight in table.columns:
        data = table.style.map(_gate_style, subset=[highlight])
    if failing and failing in frame.columns:
        marks = pd.DataFrame("", index=table.index, columns=table.columns)
        for index, names in frame[failing].items():
            for name in names:
                if name in marks.columns:
                    marks.loc[index, name] = FAILING_STYLE
        data = table.style.apply(lambda _: marks, axis=None)
    st.dataframe(
        data,
        column_config=config_for,
        column_order=list(table.columns),
        hide_index=True,
        key=key,
        height=table_height(len(table), height),
    )


# Streamlit's table: a header and each row 35 pixels, and 3 of border.
_ROW_PIXELS, _FRAME_PIXELS = 35, 38


def table_height(
    rows: int, height: int | Literal["auto", "stretch", "content"]
) -> int | Literal["auto", "stretch", "content"]:
    """A table's height: a height in pixels is the most it takes, so a table whose rows fit in less
    is as tall as its rows (no empty rows below them); the other heights as given."""
    if isinstance(height, int) and rows * _ROW_PIXELS + _FRAME_PIXELS < height:
        return "content"
    return height


def wrapped_table(frame: pd.DataFrame, columns: dict[str, tuple[str, str]], empty: str) -> None:
    """A table of text columns (name -> (title, kind)) whose long values wrap instead of being cut: a
    static table as tall as its rows, its cells' Markdown escaped."""
    if frame.empty:
        st.caption(empty)
        return
    if any(kind not in TEXT_FORMATTERS for _, kind in columns.values()):
        raise ValueError("wrapped_table shows text kinds only")
    table = shown(frame, columns).map(display.plain)
    st.table(
        table.rename(columns={name: title for name, (title, _) in columns.items()}),
        hide_index=True,
        border="horizontal",
    )


def _text_width(title: str, values: pd.Series | None) -> int:
    """Pixels enough for a text column's longest value and its title: a cell is never cut."""
    longest = max([len(title) + 3, *(len(str(value)) for value in (values if values is not None else []))])
    return min(420, 8 * longest + 24)


FAILING_STYLE = "background-color: #fde0dc; color: #b71c1c; font-weight: 600"


def _gate_style(value: object) -> str:
    if value == display.label("fail"):
        return FAILING_STYLE
    if value == display.label("insufficient_data"):
        return "background-color: #eeeeee; color: #424242"
    return ""


def markdown_from_data(text: str) -> None:
    """Markdown written by whoever made the files (a blueprint): formatted, but inert. No images (a
    viewer's browser would fetch them), no raw HTML, no links but http(s) and mail."""
    st.html(display.markdown_html(text))


def chart(figure, key: str | None = None) -> None:
    # Fit the width only: a legend below a chart adds to its height instead of squashing the plot.
    if isinstance(figure, alt.Chart | alt.LayerChart):
        figure = figure.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    st.altair_chart(figure, width="stretch", key=key)


def can_show(*kinds: str) -> bool:
    """Whether the inputs of a chart or table are loaded; if not, say which to load instead."""
    lacking = missing_kinds(*kinds)
    if lacking:
        st.info(needs_note(lacking), icon=":material/upload_file:")
    return not lacking


def first(frame: pd.DataFrame, column: str) -> Any:
    """The value of a column in a one-row result (None when there is no row or no value): a DataFrame
    cell, as untyped as pandas makes it (a number, text or a date)."""
    if frame.empty or column not in frame.columns:
        return None
    value = frame[column].iloc[0]
    return None if pd.isna(value) else value
