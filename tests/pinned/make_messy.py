"""Writes the messy data set whose full report tests/test_pinned_report.py pins.

Run once; the files it writes are committed, so the pin never depends on this script or on a
dependency's random generator. The usage log takes the sample's first 30,000 events and makes
them look like a real export: random UUID v4 ids in no order, 15% of timestamps written with an
offset (the same instant), events near a month end shifted across it by the offset, exact
duplicates, conflicting duplicates, bad values, and a second file that overlaps the first.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
import shutil
import uuid
from pathlib import Path

HERE = Path(__file__).parent
SAMPLE = HERE.parent.parent / "sample_data"
OUT = HERE / "messy"
EVENTS = 30_000


def _offset_text(instant: dt.datetime, rng: random.Random) -> str:
    hours = rng.choice([-8, -5, -3, 1, 2, 5, 9, 10])
    local = instant + dt.timedelta(hours=hours)
    sign = "+" if hours >= 0 else "-"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{abs(hours):02d}:00"


def main() -> None:
    rng = random.Random(20261201)
    OUT.mkdir(exist_ok=True)
    for name in ("time_saved.csv", "replication_events.csv", "agents.csv", "org_baseline.csv"):
        shutil.copyfile(SAMPLE / name, OUT / name)
    with gzip.open(SAMPLE / "usage_events.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = [row for _, row in zip(range(EVENTS), reader, strict=False)]
    for row in rows:
        row["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        stamp = row["occurred_at"]
        if stamp.endswith("Z") and rng.random() < 0.15:
            instant = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
            row["occurred_at"] = _offset_text(instant, rng)
        elif stamp.endswith("Z") and rng.random() < 0.5:
            row["occurred_at"] = stamp[:-1]  # no offset: UTC
    # Events on the last day of a month written with an offset that moves the local date into the
    # next month: their UTC month must stay the earlier one.
    for row in rows[:400]:
        if row["occurred_at"][8:10] in ("28", "29", "30", "31"):
            day = dt.datetime.fromisoformat(row["occurred_at"].replace("Z", "+00:00"))
            instant = day.astimezone(dt.UTC).replace(tzinfo=None)
            row["occurred_at"] = (instant + dt.timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%S") + "+10:00"
    rng.shuffle(rows)
    duplicates = [dict(row) for row in rng.sample(rows, 30)]
    conflicts = []
    for row in rng.sample(rows, 15):
        changed = dict(row)
        changed["cost_usd"] = "9.99"
        conflicts.append(changed)
    bad = []
    for index, (column, text) in enumerate(
        [("input_tokens", "12O"), ("status", "done"), ("occurred_at", "2025-13-01T00:00:00Z"),
         ("cost_usd", "-1"), ("api_calls", "2.5"), ("review", "maybe"), ("agent_id", "")]
    ):  # fmt: skip
        row = dict(rows[index])
        row["event_id"] = f"bad-{index}"
        row[column] = text
        bad.append(row)
    first = rows[:20_000] + duplicates[:15] + conflicts[:8] + bad
    rng.shuffle(first)
    # The second file overlaps the first by 2,000 rows (stored rows win) and brings the rest.
    second = rows[18_000:] + duplicates[15:] + conflicts[8:]
    rng.shuffle(second)
    for name, part in (("usage_events_1.csv.gz", first), ("usage_events_2.csv.gz", second)):
        with gzip.open(OUT / name, "wt", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(part)


if __name__ == "__main__":
    main()
