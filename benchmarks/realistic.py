"""Usage events shaped like a real organisation's export, for benchmarks.

    python benchmarks/realistic.py --events 10000000 --out benchmarks/data/realistic-10000000

The sample generator's usage log is tidy (sorted zero-padded ids, 32 agents, 18 teams); real exports
are not. This writes, set-based in DuckDB and deterministic for a seed:
- random UUID v4 event ids in no order, timestamps in no order over 24 months;
- 7 functions, 40 business units, 300 teams, 2,000 agents (an agent belongs to one team);
- 15% of timestamps with a UTC offset (the same instant), the rest with `Z` or no offset;
- 0.1% exact duplicates and 0.05% conflicting duplicates (same id, different cost), shuffled in;
- a daily file of 100k further events (fresh ids, the month after the bulk), for daily-load runs.
- the same organisation's other files, so that a report on it is the size a real one is: the
  baseline of its 300 teams, the catalog of its 2,000 agents, time saved per agent and month, and
  each agent's validation and deployments.
Files: usage_events.csv, usage_events.parquet and daily_usage_events.csv; org_baseline.csv,
agents.csv, time_saved.csv and replication_events.csv. The Parquet file holds the same rows as the bulk
CSV, typed: occurred_at as TIMESTAMPTZ (UTC), the counts as BIGINT, cost_usd as DECIMAL(18, 6), the rest
(status and review included) as text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

FUNCTIONS = ["Marketing", "Sales Operations", "Customer Support", "Finance", "HR", "Legal", "R&D"]
TEAMS, BUSINESS_UNITS, AGENTS = 300, 40, 2_000
# Written to .manifest.json with the size and seed: a folder written by another version is stale.
VERSION = 2  # 2: the Parquet copy is typed
OFFSETS = ["+01:00", "+02:00", "-05:00", "-08:00", "+05:30", "+09:00", "+10:00", "-03:00"]

EVENTS_SQL = """
with numbered as (
    select i, hash(i, $seed) as h, md5(concat($seed, '-', i)) as hex
    from range($first, $first + $count) as t(i)
),

events as (
    select
        i,
        concat_ws('-', hex[1:8], hex[9:12], '4' || hex[14:16],
                  ['8', '9', 'a', 'b'][cast(1 + (h >> 3) % 4 as INTEGER)] || hex[18:20], hex[21:32]) as event_id,
        $start::TIMESTAMP + to_seconds(cast((h >> 7) % $span_seconds as BIGINT)) as instant,
        cast((h >> 20) % 100 as INTEGER) as offset_draw,
        cast((h >> 27) % $agents as INTEGER) as agent_no,
        cast((h >> 38) % 100 as INTEGER) as status_draw,
        cast((h >> 45) % 100 as INTEGER) as review_draw,
        h
    from numbered
),

shaped as (
    select
        event_id,
        case
            when offset_draw < 15 then
                strftime(instant + to_hours(cast(offset_hours[1 + offset_draw % 8] as INTEGER)),
                         '%Y-%m-%dT%H:%M:%S') || offsets[1 + offset_draw % 8]
            when offset_draw < 60 then strftime(instant, '%Y-%m-%dT%H:%M:%SZ')
            else strftime(instant, '%Y-%m-%dT%H:%M:%S')
        end as occurred_at,
        printf('agent-%04d', agent_no) as agent_id,
        functions[1 + (agent_no % $teams % $business_units) % 7] as function,
        printf('BU %02d', agent_no % $teams % $business_units) as business_unit,
        printf('Team %03d', agent_no % $teams) as team,
        printf('task_%02d', agent_no % 37) as task_type,
        case when status_draw < 85 then 'completed' when status_draw < 96 then 'escalated' else 'failed' end
            as status,
        case when review_draw < 20 then 'correct' when review_draw < 23 then 'incorrect' end as review,
        cast(1 + (h >> 52) % 20 as INTEGER) as api_calls,
        cast(500 + (h >> 11) % 30000 as INTEGER) as input_tokens,
        cast(100 + (h >> 17) % 4000 as INTEGER) as output_tokens,
        cast(((h >> 23) % 2000000) / 1000000 as DECIMAL(18, 6)) as cost_usd,
        cast(200 + (h >> 33) % 30000 as INTEGER) as latency_ms,
        h
    from events,
         (select $functions as functions, $offsets as offsets, $offset_hours as offset_hours)
),

repeated as (
    select * exclude (h) from shaped
    union all
    select * exclude (h) from shaped where h % 1000 = 1
    union all
    select * exclude (h) replace (cost_usd + 1 as cost_usd) from shaped where h % 2000 = 2
)

select
    event_id, occurred_at, agent_id, function, business_unit, team, task_type, status, review,
    api_calls, input_tokens, output_tokens, cost_usd, latency_ms
from repeated
order by hash(event_id, occurred_at, cost_usd)
"""


# The organisation's other files. Team t belongs to business unit t % 40 and that unit to function
# (t % 40) % 7; agent a works in team a % 300 (as in EVENTS_SQL), is validated there and deployed
# to up to three other teams.
TEAM_SQL = """
select t, printf('Team %03d', t) as team, printf('BU %02d', t % $business_units) as business_unit,
       $functions[cast(1 + (t % $business_units) % 7 as INTEGER)] as function
from range($teams) as r(t)
"""
AGENT_SQL = f"""
select a, printf('agent-%04d', a) as agent_id, printf('task_%02d', a % 37) as task_type, teams.*,
       hash(a, $seed) as h
from range($agents) as r(a) join ({TEAM_SQL}) as teams on teams.t = a % $teams
"""
ORGANISATION_SQL = {
    "org_baseline.csv": f"""
        select function, business_unit, team, 5 + hash(t, $seed) % 40 as headcount,
               round(20 + (hash(t, $seed) >> 8) % 120 / 1.0, 1) as routine_hours_per_month,
               round(45 + (hash(t, $seed) >> 16) % 80 / 1.0, 2) as loaded_hourly_cost_usd
        from ({TEAM_SQL}) order by t
    """,
    "agents.csv": f"""
        select agent_id, 'Agent ' || a as name, NULL as description, function as owner_function,
               business_unit as owner_business_unit, team as owner_team,
               ['low', 'medium', 'high'][cast(1 + h % 3 as INTEGER)] as risk_class, NULL as blueprint,
               ($start::DATE + cast(h % 300 as INTEGER)) as created_on,
               ['influencer', 'pilot_program', 'champion', 'self_selected'][cast(1 + (h >> 4) % 4 as INTEGER)] as seeding_strategy,
               ['vendor', 'built'][cast(1 + (h >> 6) % 2 as INTEGER)] as source
        from ({AGENT_SQL}) order by a
    """,
    "time_saved.csv": f"""
        select printf('ts-%07d', row_number() over (order by a, m)) as record_id,
               ($start::DATE + to_months(m))::DATE as period_start,
               ($start::DATE + to_months(m + 1) - INTERVAL 1 DAY)::DATE as period_end,
               function, business_unit, team, agent_id, task_type,
               20 + hash(a, m, $seed) % 400 as tasks,
               30 + hash(a, m, $seed) % 60 as baseline_minutes_per_task,
               round(5 + (hash(a, m, $seed) >> 8) % 200 / 10.0, 1) as minutes_per_task,
               NULL as headcount
        from ({AGENT_SQL}), range($months) as r(m)
        where hash(a, m, $seed) % 3 = 0
    """,
    "replication_events.csv": f"""
        select printf('rep-%05d-%d', a, k) as event_id, agent_id,
               case when k = 0 then 'validated' else 'deployed' end as event_type,
               ($start::DATE + cast(h % 300 + 20 * k as INTEGER)) as occurred_on,
               target.function, target.business_unit, target.team
        from ({AGENT_SQL}) as agent, range(1 + cast(h % 4 as INTEGER)) as r(k)
        join ({TEAM_SQL}) as target on target.t = (agent.t + 37 * k) % $teams
        order by a, k
    """,
}


# The Parquet copy of the bulk CSV, typed as a warehouse export would be: the instant in UTC, counts
# as integers, cost as an exact decimal, status and review as text.
PARQUET_SQL = """
select event_id, cast(occurred_at as TIMESTAMPTZ) as occurred_at, agent_id, function, business_unit, team,
       task_type, status, review, cast(api_calls as BIGINT) as api_calls,
       cast(input_tokens as BIGINT) as input_tokens, cast(output_tokens as BIGINT) as output_tokens,
       cast(cost_usd as DECIMAL(18, 6)) as cost_usd, cast(latency_ms as BIGINT) as latency_ms
from read_csv('{csv}', all_varchar = true)
"""


def write_organisation(
    conn: duckdb.DuckDBPyConnection, out: Path, start: str, months: int, seed: int
) -> None:
    params = {
        "seed": seed, "start": start, "months": months, "agents": AGENTS, "teams": TEAMS,
        "business_units": BUSINESS_UNITS, "functions": FUNCTIONS,
    }  # fmt: skip
    for name, sql in ORGANISATION_SQL.items():
        used = {key: value for key, value in params.items() if f"${key}" in sql}
        conn.execute(f"copy ({sql}) to '{_literal(out / name)}' (header, delimiter ',')", used)


def write(
    conn: duckdb.DuckDBPyConnection, path: Path, first: int, count: int, start: str, months: int, seed: int
) -> None:
    offset_hours = [int(text[:3]) for text in OFFSETS]
    params = {
        "seed": seed, "first": first, "count": count, "start": start, "span_seconds": months * 30 * 86_400,
        "agents": AGENTS, "teams": TEAMS, "business_units": BUSINESS_UNITS, "functions": FUNCTIONS,
        "offsets": OFFSETS, "offset_hours": offset_hours,
    }  # fmt: skip
    conn.execute(f"copy ({EVENTS_SQL}) to '{_literal(path)}' (header, delimiter ',')", params)


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def generate(out: Path, events: int, seed: int = 7) -> Path:
    """Write the bulk CSV and Parquet files and the daily file into `out`; return `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as conn:
        conn.execute("SET preserve_insertion_order = true")
        write(conn, out / "usage_events.csv", 0, events, "2024-01-01", 24, seed)
        write(conn, out / "daily_usage_events.csv", events, 100_000, "2026-01-01", 1, seed)
        write_organisation(conn, out, "2024-01-01", 24, seed)
        conn.execute("SET TimeZone = 'UTC'")  # a timestamp written without an offset is UTC
        conn.execute(
            f"copy ({PARQUET_SQL.format(csv=_literal(out / 'usage_events.csv'))}) "
            f"to '{_literal(out / 'usage_events.parquet')}' (format parquet)"
        )
    (out / ".manifest.json").write_text(json.dumps(manifest(events, seed)), encoding="utf-8")
    return out


def manifest(events: int, seed: int = 7) -> dict[str, int]:
    """What a folder that generate() wrote completely holds, as its .manifest.json says."""
    return {"events": events, "seed": seed, "version": VERSION}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    print(generate(options.out, options.events, options.seed))


if __name__ == "__main__":
    main()
