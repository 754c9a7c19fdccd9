"""What `make run` says before it serves the dashboard: which database, and what is in it."""

from __future__ import annotations

import os
import sys

from offload_metrics import store

SAMPLE_KEY = store.SAMPLE_KEY


def describe() -> str:
    """One line on the database the dashboard will open: new, empty, the sample, or the user's data."""
    path = store.db_path().resolve()
    sample_off = os.environ.get("OFFLOAD_METRICS_SAMPLE", "on").lower() in ("0", "off", "false", "no")
    first_start = "starts empty" if sample_off else "the bundled sample loads on first start"
    if not path.exists():
        return f"Database: {path} (new: {first_start})"
    try:
        conn = store.connect(path, read_only=True)
    except store.StoreError as error:
        return f"Database: {path} ({error})"
    with conn:
        loads = store.one(conn, "select count(*), coalesce(max(load_id), 0) from loads")
        sample = store.get_meta(conn, SAMPLE_KEY)
    if not loads[0]:
        return f"Database: {path} (empty: {first_start})"
    count = f"{loads[0]:,} load" + ("" if loads[0] == 1 else "s")
    if sample is None:
        return f"Database: {path} ({count} of your files; no sample)"
    only = "only the bundled sample" if int(sample) == loads[1] else "the bundled sample and your files"
    return f"Database: {path} ({only}; {count})"


if __name__ == "__main__":
    sys.stdout.write(describe() + "\n")
