"""Data: load files and see where every row went; settings; start over."""

import streamlit as st

from offload_metrics import auth, config, display, export, ingest, schema, settings_form, store, ui

st.title("Data")
settings = ui.settings()

sample_present = ui.has_sample()
if sample_present:
    st.info(
        "The database holds the bundled sample organisation. Loading your files asks whether they replace the "
        "sample or are added to it.",
        icon=":material/science:",
    )

st.subheader("Load files")
st.caption(
    "CSV (also gzip-compressed), Parquet or JSON Lines; the kind of each file is recognised from its columns. "
    "OpenTelemetry traces (OTLP JSON) and Langfuse observation and score exports load too, mapped to the "
    "organisation by the mapping file the setting mapping.file names. "
    "A rollup folder written by `offload-metrics rollup` loads as one zip archive of the folder. "
    "Every row ends accepted, duplicate, conflict or rejected, and a file loads whole or not at all. "
    "Run `offload-metrics schema` for the columns each kind needs."
)
KINDS: dict[str | None, str] = {
    None: "Recognise from the columns",
    **{kind: display.label(kind) for kind in schema.KINDS},
}
REPLACE, ADD = "Replace the sample with these files", "Add these files to the sample"
if not auth.can(auth.Capability.LOAD):
    st.caption("Loading files is for administrators.")
else:
    with st.form("upload_form", clear_on_submit=True, border=True):
        files = st.file_uploader(
            "Files to load", type=ui.UPLOAD_TYPES, accept_multiple_files=True, key="upload_files",
            help="Up to 1 GB each. The content is checked, not just the name: a file that is not what it says is refused.",
        )  # fmt: skip
        kind = st.selectbox(
            "Kind of file", list(KINDS), format_func=KINDS.__getitem__, key="upload_kind",
            help="Leave it to recognise each file from its columns; choose a kind when a file fits more than one.",
        )  # fmt: skip
        sample_choice = None
        if sample_present:
            sample_choice = st.radio(
                "The bundled sample is loaded", [REPLACE, ADD], key="upload_sample_choice", horizontal=True,
                help="Replace clears the sample (and anything loaded with it) and then loads your files, in one step; if "
                "none of them adds a row, the sample is loaded back. Add keeps the sample, and every figure then mixes the two.",
            )  # fmt: skip
        submitted = st.form_submit_button("Load", type="primary", icon=":material/upload:")
    if submitted and files:
        failures: list[str] = []
        with (
            ui.uploaded(files) as (paths, names),
            st.status(f"Loading {len(paths)} file(s)...", expanded=True) as status,
        ):
            load = ui.replace_sample if sample_choice == REPLACE else ui.load_files
            results = load(paths, st.write, names, kind=kind, fail=failures.append)
            turned_away = [result for result in results if result.rejected or result.conflict]
            status.update(
                label=f"Loaded {len(results)} of {len(paths)} file(s)"
                + (f"; {len(turned_away)} with rows not loaded" if turned_away else ""),
                state="error" if failures else "complete",
            )
        for failure in failures:
            st.error(failure, icon=":material/error:")
        for result in turned_away:
            # Where the rows went, at the upload: the first few with line, column and reason.
            st.warning(ui.turned_away_note(result), icon=":material/warning:")
    elif submitted:
        st.warning("Choose one or more files first.")
    elif not ui.has_data():
        st.info("Nothing is loaded yet. Upload your files above, or load the bundled sample organisation.")
        if st.button("Load the bundled sample", key="load_sample", icon=":material/science:"):
            ui.start_on_sample(force=True)
            st.rerun()

st.subheader("Load history", help="Every load: where each row read went.")
history = ui.loads()
# Telemetry's own counts only once a telemetry file is loaded: empty columns pushed the time off the page.
telemetry = (
    {"records_read": ("Spans or observations read", ui.COUNT), "events_made": ("Events made", ui.COUNT)}
    if "records_read" in history.columns and history["records_read"].notna().any()
    else {}
)
ui.table(history, {
    "load_id": ("Load", ui.COUNT), "file_name": ("File", ui.TEXT), "kind": ("Kind", ui.LABEL),
    "rows_read": ("Read", ui.COUNT), "accepted": ("Accepted", ui.COUNT), "duplicate": ("Duplicate", ui.COUNT),
    "conflict": ("Conflict", ui.COUNT), "rejected": ("Rejected", ui.COUNT), **telemetry,
    "finished_at": ("Loaded at (UTC)", ui.TIME),
}, key="data_loads", empty="No file has been loaded.")  # fmt: skip
st.caption("Over all loads:")
ui.table(ui.data_quality(), {key: (key.replace("_", " ").capitalize(), ui.COUNT) for key in ingest.COUNT_FIELDS},
         key="data_quality")  # fmt: skip

st.subheader("Rejected and conflicting rows", help="Each with its file, line, column and reason.")
agent = st.query_params.get("agent")
if agent:
    st.markdown(f"**The rejected catalog rows of `{agent}`** (linked from the Agent catalog):")
    ui.table(ui.catalog_rejections((agent,)), {
        "file_name": ("File", ui.TEXT), "line": ("Line", ui.COUNT), "column_name": ("Column", ui.TEXT),
        "outcome": ("Outcome", ui.LABEL), "reason": ("Reason", ui.TEXT),
    }, key="data_agent_rejected", empty=f"No rejected catalog row names {agent}.")  # fmt: skip
    st.markdown("**All rejected and conflicting rows:**")
ui.table(ui.rejected(limit=5000), {
    "file_name": ("File", ui.TEXT), "line": ("Line", ui.COUNT), "column_name": ("Column", ui.TEXT),
    "outcome": ("Outcome", ui.LABEL), "reason": ("Reason", ui.TEXT),
}, key="data_rejected", height=320, empty="No row has been rejected.")  # fmt: skip
st.download_button(
    "Download all rejected rows with their raw values (CSV)", export.csv_bytes(ui.rejected()), file_name="rejected_rows.csv",
    mime="text/csv", key="data_rejected_csv", icon=":material/download:",
)  # fmt: skip

st.subheader(
    "Unmapped values",
    help="Telemetry records no rule of the organisation mapping matched, by the values they carried: add a rule "
    "for each (see the README), then load the same files again; the records that now map are added, nothing twice.",
)
ui.table(ui.unmapped(), {
    "unmapped": ("Values", ui.TEXT), "records": ("Records", ui.COUNT), "files": ("Files", ui.TEXT),
}, key="data_unmapped", empty="Every telemetry record loaded was mapped.")  # fmt: skip

st.subheader("Settings", help="Thresholds, rates and the reinvestment share every metric uses.")
if "settings_problem" in st.session_state:
    st.warning(
        f"The settings file could not be used, so defaults apply: {st.session_state['settings_problem']}"
    )
with st.form("settings_form", border=True):
    entered, slots = settings_form.draw(
        settings, settings_form.visible(auth.can_see_money(), auth.can(auth.Capability.SAVE_SETTINGS))
    )
    apply, save = st.columns(2)
    applied = apply.form_submit_button("Apply for this session", type="primary")
    # The file's name only: a full path cut the button's label; the hover gives where it is.
    saved = auth.can(auth.Capability.SAVE_SETTINGS) and save.form_submit_button(
        f"Apply and save to {config.settings_path().name}", help=f"Saved to {config.settings_path()}"
    )
if applied or saved:
    outcome = settings_form.check(settings, entered)
    if outcome.settings is None:
        settings_form.show_problems(outcome.problems, slots)
        st.error(
            "Nothing was applied: the settings marked above need another value.", icon=":material/error:"
        )
    else:
        st.session_state["settings"] = outcome.settings
        st.session_state.pop("settings_problem", None)
        message = "Settings applied to this session."
        if saved:
            message = f"Settings applied and saved to {ui.save_settings(outcome.settings)}."
        st.success(message + "".join(f"\n- {line}" for line in outcome.read))

st.subheader("Audit", help="Who loaded files, cleared the database or saved settings, and when.")
# A load's outcome is a sentence: a static table wraps it, where a grid's cell cut it short. The
# newest entries first, the older ones a click away.
audit = ui.audit()
AUDIT_SHOWN = 10
AUDIT_COLUMNS = {
    "recorded_at": ("When (UTC)", ui.TIME), "who": ("Who", ui.TEXT), "action": ("Action", ui.TEXT), "detail": ("What", ui.TEXT),
}  # fmt: skip
ui.wrapped_table(
    audit.head(AUDIT_SHOWN), AUDIT_COLUMNS, empty="Nothing has been loaded, cleared or saved yet."
)
if len(audit) > AUDIT_SHOWN:
    with st.expander(f"Older entries ({len(audit) - AUDIT_SHOWN:,})"):
        ui.wrapped_table(audit.iloc[AUDIT_SHOWN:], AUDIT_COLUMNS, empty="")

if auth.can(auth.Capability.CLEAR):
    st.subheader("Start over")
    with st.expander("Delete every loaded row and load record", icon=":material/delete_forever:"):
        st.write(
            f"This clears the database {store.db_path().name}: all rows, rejections and the load history. The files "
            "you loaded are not touched. It cannot be undone."
        )
        confirmed = st.checkbox("Yes, delete all loaded data", key="clear_confirm")
        if st.button("Clear the database", key="clear_database", disabled=not confirmed, type="primary"):
            ui.clear_database()
            st.session_state.pop("clear_confirm", None)
            st.rerun()
