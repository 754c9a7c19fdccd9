"""Streamlit glue shared by the frame and the pages: connection, cached metrics, filters, tiles.

Pages read like a description of the screen; every query, cache and format lives here or below.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from offload_metrics import auth, config, definitions, display, ingest, metrics, report, store
from offload_metrics.config import Settings

SAMPLE_ENV = "OFFLOAD_METRICS_SAMPLE"
PAGES = Path(__file__).resolve().parent / "app_pages"
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
    """A cursor of its own for one or more queries, on the read-only connection."""
    try:
        with database().reading() as conn:
            yield conn
    except store.StoreError as error:
        st.error(str(error))
        st.stop()


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
    with state["lock"]:  # type: ignore[attr-defined]
        if state["sample_checked"] and not force:
            return []
        state["sample_checked"] = True
        if (sample_disabled() and not force) or has_data():
            return []
        folder = sample_folder()
        paths = [folder / name for name in SAMPLE_FILES if (folder / name).exists()]
        if not paths:
            return []
        with st.status("Loading the bundled sample data...", expanded=False) as status, writing() as conn:
            results = _load_files(conn, paths, status.write, None, SAMPLE_LOADER if not force else None)
            status.update(label="Loaded the bundled sample data", state="complete")
            version = conn.execute("select coalesce(max(load_id), 0) from loads").fetchone()[0]  # type: ignore[index]
            conn.execute("begin transaction")
            store.set_meta(conn, SAMPLE_KEY, str(version))
            conn.execute("commit")
        return results


SAMPLE_KEY = "sample_last_load"
# Who the audit names for the sample an empty database starts on (no one asked for it).
SAMPLE_LOADER = "the dashboard (first start)"


def showing_sample() -> bool:
    """Whether the database holds the bundled sample and nothing else (so it can go in one click)."""
    with cursor() as conn:
        last = store.get_meta(conn, SAMPLE_KEY)
    return last is not None and str(data_version()[0]) == last


def load_files(paths: Sequence[Path], say: Callable[[str], object], names: Sequence[str] | None = None):
    """Load files one by one with a progress bar; say what happened to each. One session of this
    server loads at a time (each load takes the next load id)."""
    auth.require(auth.Capability.LOAD)
    with writing() as conn:
        return _load_files(conn, paths, say, names, None)


def _load_files(
    conn, paths: Sequence[Path], say: Callable[[str], object], names: Sequence[str] | None, who: str | None
):
    from offload_metrics import mapping

    results: list[ingest.LoadResult] = []
    chosen = settings()  # read here: the load runs in a worker thread, outside the session
    try:
        organisation = mapping.load_mapping(config.mapping_file(chosen, config.settings_path()))
    except mapping.MappingError as error:
        say(f"Nothing was loaded: the organisation mapping cannot be used: {display.plain(str(error))}")
        return results
    for index, path in enumerate(paths):
        name = names[index] if names else path.name
        shown = display.plain(name)  # progress text is Markdown
        bar = st.progress(0.0, text=f"{shown}: starting")
        state = ingest.LoadProgress(file=name)
        try:
            result = ingest.run_with_progress(
                lambda progress, path=path, name=name: ingest.load_file(
                    conn, path, progress=progress, display_name=name, settings=chosen, mapping=organisation
                ),
                lambda progress, bar=bar, shown=shown: bar.progress(
                    min(progress.fraction, 1.0), text=f"{shown}: {progress.phase}"
                ),
                state,
            )
        except ingest.IngestError as error:
            bar.empty()
            say(f"**{shown}** was not loaded: {display.plain(error.message)}")
            continue
        bar.empty()
        results.append(result)
        store.record_audit(conn, who or auth.viewer().name, "load", f"{name}: {describe(result)}")
        say(f"**{shown}**: {display.plain(describe(result))}")
    st.cache_data.clear()
    return results


def describe(result: ingest.LoadResult) -> str:
    if result.status != "loaded":
        return result.message
    text = (
        f"{result.kind}, {result.rows_read:,} rows read: {result.accepted:,} accepted, {result.duplicate:,} "
        f"duplicate, {result.conflict:,} conflicting, {result.rejected:,} rejected"
    )
    return f"{text} ({result.message})" if result.message else text


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


FILTER_KEYS = ("as_of", "range", "function", "business_unit")


def problem(error: Exception) -> str:
    """What went wrong, in one line: for messages that name what could not be done and why."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300].rstrip(".")


def sidebar_filters() -> metrics.Filters:
    """The shared filters, kept in the URL so that a view can be shared by link; whatever the data
    holds, the pages still run (on all of it) when the filters cannot be drawn."""
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
    as_of = st.sidebar.date_input(
        "As of", value=last, min_value=first, max_value=last, key="as_of", bind="query-params",
        help="The report date: the gate window ends here and phases are those of its month. "
        "Defaults to the latest date in the data.",
    )  # fmt: skip
    picked = st.sidebar.date_input(
        "Date range", value=(first, last), min_value=first, max_value=last, key="range", bind="query-params",
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
    if st.sidebar.button("Reset filters", key="reset_filters", width="stretch"):
        for key in FILTER_KEYS:
            st.session_state.pop(key, None)
        st.rerun()
    date_from, date_to = (
        (picked[0], picked[-1]) if isinstance(picked, tuple | list) and picked else (first, last)
    )
    as_of = as_of if isinstance(as_of, dt.date) else last
    return metrics.Filters(
        as_of=as_of,
        date_from=date_from,
        date_to=min(date_to, as_of),
        functions=tuple(chosen_functions),
        business_units=tuple(chosen_units),
    )


# The sidebar runs on every rerun: what it shows changes only with the data.


@st.cache_data(show_spinner=False, max_entries=8)
def _data_range(version: tuple[int, int]) -> tuple[dt.date | None, dt.date | None]:
    with cursor() as conn:
        return metrics.data_range(conn)


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


@st.cache_data(show_spinner=False, max_entries=512)
def _cached(name: str, filters: tuple, settings_json: str, by: tuple[str, ...], version: tuple[int, int]):
    with cursor() as conn:
        return report.by_name(
            conn, name, metrics.Filters(*filters), Settings.model_validate_json(settings_json), by
        )


def get(name: str, by: Sequence[str] = ()):
    """A metric for the current filters and settings, from the cache when nothing changed; without
    finance figures for a viewer who may not see money."""
    chosen = current_filters()
    try:
        result = _cached(
            name, dataclasses.astuple(chosen), settings().model_dump_json(), tuple(by), data_version()
        )
    except metrics.FilterError as error:
        st.warning(str(error))
        st.stop()
    except Exception as error:  # a figure the data does not allow: say which and why, keep the app up
        st.warning(
            f"The {name.replace('_', ' ')} figures could not be computed: {problem(error)}. "
            "The Data page shows what was loaded and can remove it.",
            icon=":material/warning:",
        )
        st.stop()
    # Not even sent to the browser (a chart carries its whole frame) unless this viewer may see money.
    return result if auth.can_see_money() else auth.without_money(result)


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


def data_quality() -> pd.DataFrame:
    """Where every row read went, over all loads, as a one-row table."""
    with cursor() as conn:
        return pd.DataFrame([metrics.data_quality(conn)])


def clear_database() -> None:
    auth.require(auth.Capability.CLEAR)
    with writing() as conn:
        store.clear(conn)
        conn.execute("begin transaction")
        store.set_meta(conn, SAMPLE_KEY, None)
        store.record_audit(conn, auth.viewer().name, "clear", f"cleared {store.db_path().name}")
        conn.execute("commit")
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
    return definitions.lookup(metric, family)


def tile(label: str, value: str, metric: str, family: str | None = None, delta: str | None = None) -> None:
    """A headline number with its SPEC definition on hover; a finance figure only for those who may see it."""
    if auth.is_finance_figure(metric) and not auth.can_see_money():
        return
    st.metric(
        label,
        value,
        delta=delta,
        delta_color="off",
        delta_arrow="off",  # the delta line gives context, not a change
        help=help_for(metric, family) or None,
        border=True,
    )


MONEY = "money"
SHARE = "share"
COUNT = "count"
NUMBER = "number"
DAY = "day"
MONTH = "month"
TIME = "time"
TEXT = "text"
NUMBER2 = "number2"
LIST = "list"
FLAG = "flag"
# How a column of each kind shows in a table.
COLUMN_KINDS = {
    MONEY: lambda title, hover: st.column_config.NumberColumn(title, help=hover, format="dollar"),
    SHARE: lambda title, hover: st.column_config.NumberColumn(title, help=hover, format="percent"),
    COUNT: lambda title, hover: st.column_config.NumberColumn(title, help=hover, format="localized"),
    NUMBER: lambda title, hover: st.column_config.NumberColumn(title, help=hover, format="%,.1f"),
    DAY: lambda title, hover: st.column_config.DateColumn(title, help=hover, format="YYYY-MM-DD"),
    MONTH: lambda title, hover: st.column_config.DateColumn(title, help=hover, format="YYYY-MM"),
    TIME: lambda title, hover: st.column_config.DatetimeColumn(title, help=hover, format="YYYY-MM-DD HH:mm"),
    TEXT: lambda title, hover: st.column_config.TextColumn(title, help=hover),
    NUMBER2: lambda title, hover: st.column_config.NumberColumn(title, help=hover, format="%.2f"),
    LIST: lambda title, hover: st.column_config.ListColumn(title, help=hover),
    FLAG: lambda title, hover: st.column_config.CheckboxColumn(title, help=hover),
}


def table(
    frame: pd.DataFrame,
    columns: dict[str, tuple[str, str]],
    family: str | None = None,
    key: str | None = None,
    height: int | str = "auto",
    empty: str | None = None,
) -> None:
    """A table of the given columns (name -> (title, kind)), with definitions as column help; the
    `empty` message instead when there are no rows. Finance figures only for those who may see them."""
    if empty is not None and frame.empty:
        st.caption(empty)
        return
    if not auth.can_see_money():
        columns = {name: shown for name, shown in columns.items() if not auth.is_finance_figure(name)}
    present = [name for name in columns if name in frame.columns]
    config_for = {
        name: COLUMN_KINDS[kind](title, help_for(name, family) or None)
        for name, (title, kind) in columns.items()
    }
    st.dataframe(
        frame[present],
        column_config=config_for,
        column_order=present,
        hide_index=True,
        key=key,
        height=height,
    )


def markdown_from_data(text: str) -> None:
    """Markdown written by whoever made the files (a blueprint): formatted, but inert. No images (a
    viewer's browser would fetch them), no raw HTML, no links but http(s) and mail."""
    st.html(display.markdown_html(text))


def chart(figure, key: str | None = None) -> None:
    st.altair_chart(figure, width="stretch", key=key)


def first(frame: pd.DataFrame, column: str) -> object:
    """The value of a column in a one-row result (None when there is no row or no value)."""
    if frame.empty or column not in frame.columns:
        return None
    value = frame[column].iloc[0]
    return None if pd.isna(value) else value
