"""Validation rules as data: what each contract column must hold, and the words a rejection uses.

Derived from the data contract (schema.columns), so DuckDB's ingest and the Spark rollup judge a
row by the same rules and say the same reason for it; each engine compiles them to its own SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from offload_metrics import config, schema
from offload_metrics.ingest import rules as ingest_rules

# The checks in the order a column is judged: its reason is that of the first one it fails.
PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
TESTS = ("required", "text", "digits", "form", "places", "allowed", "bounds", "ge", "gt", "le")


@dataclass(frozen=True)
class Check:
    """One rule of one column: what is tested, against what bound, and the reason when it fails."""

    column: str
    test: str  # one of TESTS
    reason: str
    bound: float | None = None


@dataclass(frozen=True)
class ColumnRules:
    """A contract column with its checks, in the order they are tried."""

    column: schema.Column
    checks: tuple[Check, ...]

    @property
    def name(self) -> str:
        return self.column.name


def checks(column: schema.Column, bounds: config.Ingest | None = None) -> tuple[Check, ...]:
    """The checks of one column, in the order its first failing reason is chosen; dates and
    timestamps must lie within the ingest settings' bounds (defaults when none are given)."""
    found: list[Check] = []
    if column.required:
        found.append(Check(column.name, "required", "is required"))
    if column.base == "text":
        found.append(Check(column.name, "text", ingest_rules.NUL_REASON))
    if column.base in ingest_rules.EXACT_LIMITS:
        found.append(
            Check(
                column.name,
                "digits",
                ingest_rules.too_many_digits_reason(column.base),
                ingest_rules.EXACT_LIMITS[column.base],
            )
        )
    if column.base != "text":
        found.append(Check(column.name, "form", f"must be {schema.BASE_WORDS[column.base]}"))
    if column.base == "money":
        found.append(
            Check(
                column.name,
                "places",
                f"has more than {schema.MONEY_SCALE} decimal places (money is stored exactly)",
            )
        )
    if column.allowed:
        found.append(Check(column.name, "allowed", f"must be one of {', '.join(column.allowed)}"))
    if column.base in ("date", "timestamp"):
        found.append(Check(column.name, "bounds", ingest_rules.bounds_reason(bounds or config.Ingest())))
    if column.ge is not None:
        found.append(Check(column.name, "ge", f"must be ≥ {column.ge:g}", column.ge))
    if column.gt is not None:
        found.append(Check(column.name, "gt", f"must be > {column.gt:g}", column.gt))
    if column.le is not None:
        found.append(Check(column.name, "le", f"must be ≤ {schema.bound_text(column.le)}", column.le))
    return tuple(found)


def column_rules(
    model: type[schema.InputKind], bounds: config.Ingest | None = None
) -> tuple[ColumnRules, ...]:
    """Every contract column of a kind with its checks, in contract order."""
    return tuple(ColumnRules(column, checks(column, bounds)) for column in schema.columns(model))


def reason_text(check: Check) -> str:
    """A rejection's reason as the rejected rows list it (before the value it got)."""
    return f"{check.column}: {check.reason}"


def row_rule_text(rule: schema.RowRule) -> str:
    return f"{rule.column}: {rule.reason}"


def dedup_sql(model: type[schema.InputKind], source: str) -> str:
    """Each valid row's outcome by the dedup rule, in SQL that DuckDB and Spark SQL both run.

    The first row of a key wins (first by file path, then by position in the file: the source's
    _file, _block and _pos); a later row with the same content is a duplicate, with different
    content a conflict, whose first differing column (in contract order) is named. The source holds
    the typed contract columns (defaults applied) of the rows that broke no rule.
    """
    names = [column.name for column in schema.columns(model)]
    # Contract names are plain lowercase identifiers, which both engines read unquoted (their
    # quoting differs: "name" in DuckDB, `name` in Spark).
    assert all(PLAIN_IDENTIFIER.fullmatch(name) for name in names), names
    key = ", ".join(model.key)
    firsts = ", ".join(f"first_value({name}) over w as _first_{name}" for name in names)
    differs = [f"case when {name} is distinct from _first_{name} then '{name}' end" for name in names]
    return f"""
        with ranked as (
            select *, row_number() over w as _rank, first_value(_file) over w as _first_file, {firsts}
            from {source}
            window w as (partition by {key} order by _file, _block, _pos)
        ),

        final as (
            select *,
                   case when _rank > 1 then coalesce({", ".join(differs)}) end as _differs_first,
                   case when _rank > 1 then concat_ws(', ', {", ".join(differs)}) end as _differs
            from ranked
        )

        select *,
               case when _rank = 1 then 'accepted'
                    when _differs_first is null then 'duplicate'
                    else 'conflict' end as _outcome
        from final
    """
