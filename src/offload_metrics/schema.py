"""The data contract: one pydantic model per input kind; tables and validation derive from these."""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, Field

from offload_metrics import kinds

MONEY_SCALE = 8
MONEY_SQL = f"DECIMAL(18,{MONEY_SCALE})"

Text = Annotated[str, Field(min_length=1)]
Count = Annotated[int, Field(ge=0)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=MONEY_SCALE)]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=MONEY_SCALE)]
# An invoice line can be negative (a credit or a refund).
SignedMoney = Annotated[Decimal, Field(max_digits=18, decimal_places=MONEY_SCALE)]
# Minutes a task takes (as the settings' presets allow), and hours of a team's month or of two teams'
# time together: a value beyond these is a mistake in the file, and would overflow the exact sums
# that the report multiplies by hourly costs.
MINUTES_LIMIT = 100_000
HOURS_LIMIT = 10_000_000
# Tasks in one time-saved record and the cost of an hour of work: with the minutes above, one record
# is worth at most $1.7e17 (1e19 minute-dollars), and the report's exact sums of minutes x rate
# (DECIMAL(38) with 14 places) hold 1e24 minute-dollars a function-month.
TASKS_LIMIT = 1_000_000_000
HOURLY_COST_LIMIT = 100_000


@dataclass(frozen=True)
class RowRule:
    """A check across columns, written in SQL over the typed columns."""

    column: str
    sql: str
    reason: str
    # False: the rule is checked even where the columns it names are empty (a rule about emptiness).
    needs_values: bool = True
    # True: the reason shows the value of `column`, as a column's own checks do.
    show_value: bool = False


class InputKind(BaseModel):
    """Base of the input kinds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str]
    key: ClassVar[tuple[str, ...]]
    title: ClassVar[str]
    example: ClassVar[dict[str, str]]
    row_rules: ClassVar[tuple[RowRule, ...]] = ()


class UsageEvent(InputKind):
    """One row per task an agent ran."""

    kind: ClassVar[str] = "usage_events"
    key: ClassVar[tuple[str, ...]] = ("event_id",)
    title: ClassVar[str] = "Agent usage log"
    example: ClassVar[dict[str, str]] = {
        "event_id": "evt-000001",
        "occurred_at": "2025-03-04T09:15:00+01:00",
        "agent_id": "mkt-brief-writer",
        "function": "Marketing",
        "business_unit": "Consumer",
        "team": "Brand Content",
        "task_type": "campaign_brief",
        "status": "completed",
        "review": "correct",
        "api_calls": "4",
        "input_tokens": "3200",
        "output_tokens": "850",
        "cost_usd": "0.0213",
        "latency_ms": "5400",
    }

    event_id: Text = Field(description="Unique id of the task run (the dedup key).")
    occurred_at: dt.datetime = Field(description="When the task ran, ISO 8601; no offset means UTC.")
    agent_id: Text = Field(description="The agent that ran the task.")
    function: Text = Field(description="Business function where the task ran.")
    business_unit: Text = Field(description="Business unit where the task ran.")
    team: Text | None = Field(None, description="Team where the task ran.")
    task_type: Text | None = Field(None, description="Kind of task.")
    status: Literal["completed", "escalated", "failed"] = Field(
        description="completed (no human needed), escalated (handed to a person) or failed."
    )
    review: Literal["correct", "incorrect"] | None = Field(
        None, description="Human review of the output: correct, incorrect, or empty when not reviewed."
    )
    api_calls: Count = Field(0, description="API calls the task made.")
    input_tokens: Count = Field(0, description="Model input tokens.")
    output_tokens: Count = Field(0, description="Model output tokens.")
    cost_usd: Money = Field(Decimal(0), description="What the task cost, in USD (exact decimal).")
    latency_ms: Count | None = Field(None, description="End-to-end latency in milliseconds.")


class TimeSaved(InputKind):
    """Documented time savings, one row per team x agent x task type x period."""

    kind: ClassVar[str] = "time_saved"
    key: ClassVar[tuple[str, ...]] = ("record_id",)
    title: ClassVar[str] = "Documented time savings"
    example: ClassVar[dict[str, str]] = {
        "record_id": "ts-000001",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "function": "Marketing",
        "business_unit": "Consumer",
        "team": "Brand Content",
        "agent_id": "mkt-brief-writer",
        "task_type": "campaign_brief",
        "tasks": "420",
        "baseline_minutes_per_task": "45",
        "minutes_per_task": "8",
        "headcount": "12",
    }
    row_rules: ClassVar[tuple[RowRule, ...]] = (
        RowRule("period_end", "period_end >= period_start", "must not be before period_start"),
    )

    record_id: Text = Field(description="Unique id of the record.")
    period_start: dt.date = Field(description="First day of the period; the row counts in this month.")
    period_end: dt.date = Field(description="Last day of the period (not before period_start).")
    function: Text = Field(description="Business function of the team.")
    business_unit: Text = Field(description="Business unit of the team.")
    team: Text = Field(description="The team that documented the savings.")
    agent_id: Text = Field(description="The agent that did the work.")
    task_type: Text | None = Field(None, description="Kind of task.")
    tasks: Annotated[int, Field(ge=0, le=TASKS_LIMIT)] = Field(
        description="Tasks done with the agent in the period."
    )
    baseline_minutes_per_task: Annotated[float, Field(gt=0, le=MINUTES_LIMIT)] = Field(
        description="Documented manual minutes per task before the agent."
    )
    minutes_per_task: Annotated[float, Field(ge=0, le=MINUTES_LIMIT)] = Field(
        description="Human minutes per task with the agent (oversight, review, edits)."
    )
    headcount: Annotated[int, Field(gt=0)] | None = Field(None, description="Team headcount in the period.")


class ReplicationEvent(InputKind):
    """The life of an agent across business units."""

    kind: ClassVar[str] = "replication_events"
    key: ClassVar[tuple[str, ...]] = ("event_id",)
    title: ClassVar[str] = "Replication events"
    example: ClassVar[dict[str, str]] = {
        "event_id": "rep-000001",
        "agent_id": "mkt-brief-writer",
        "event_type": "validated",
        "occurred_on": "2025-02-14",
        "function": "Marketing",
        "business_unit": "Consumer",
        "team": "Brand Content",
    }

    event_id: Text = Field(description="Unique id of the event.")
    agent_id: Text = Field(description="The agent lineage (a copy keeps the id).")
    event_type: Literal["validated", "deployed", "retired"] = Field(
        description="validated (a pilot team proved it), deployed (a unit put a copy live) or retired."
    )
    occurred_on: dt.date = Field(description="Date of the event.")
    function: Text = Field(description="Business function where it happened.")
    business_unit: Text = Field(description="Business unit where it happened.")
    team: Text | None = Field(None, description="Team where it happened.")


class Agent(InputKind):
    """The agent catalog / registry."""

    kind: ClassVar[str] = "agents"
    key: ClassVar[tuple[str, ...]] = ("agent_id",)
    title: ClassVar[str] = "Agent catalog"
    example: ClassVar[dict[str, str]] = {
        "agent_id": "mkt-brief-writer",
        "name": "Campaign brief writer",
        "description": "Drafts campaign briefs from a product sheet.",
        "owner_function": "Marketing",
        "owner_business_unit": "Consumer",
        "owner_team": "Brand Content",
        "risk_class": "low",
        "blueprint": "1. Connect the product catalog. 2. Copy the prompt pack. 3. Review 20 briefs.",
        "created_on": "2024-11-02",
        "seeding_strategy": "champion",
        "source": "built",
    }

    agent_id: Text = Field(description="Unique id of the agent.")
    name: Text = Field(description="Display name.")
    description: Text | None = Field(None, description="What the agent does.")
    owner_function: Text = Field(description="Function that owns the agent.")
    owner_business_unit: Text | None = Field(None, description="Business unit that owns the agent.")
    owner_team: Text | None = Field(None, description="Team that owns the agent.")
    risk_class: Literal["low", "medium", "high"] | None = Field(
        None,
        description="low (internal data, drafting, summarising), medium, "
        "or high (external data, money movement, direct customer contact).",
    )
    blueprint: Text | None = Field(None, description="The replication recipe, in Markdown.")
    created_on: dt.date | None = Field(None, description="When the agent was created.")
    seeding_strategy: Literal["influencer", "pilot_program", "champion", "self_selected"] | None = Field(
        None,
        description="How the agent was seeded: influencer, pilot_program, champion or self_selected "
        "(optional; compared on Replication Velocity).",
    )
    source: Literal["vendor", "built"] | None = Field(
        None, description="vendor (bought) or built in house (optional; compared on Replication Velocity)."
    )


class OrgBaseline(InputKind):
    """The denominator for adoption and the rate for finance, one row per team."""

    kind: ClassVar[str] = "org_baseline"
    key: ClassVar[tuple[str, ...]] = ("business_unit", "team")
    title: ClassVar[str] = "Organisation baseline"
    example: ClassVar[dict[str, str]] = {
        "function": "Marketing",
        "business_unit": "Consumer",
        "team": "Brand Content",
        "headcount": "12",
        "routine_hours_per_month": "700",
        "loaded_hourly_cost_usd": "68.50",
    }

    function: Text = Field(description="Business function of the team.")
    business_unit: Text = Field(description="Business unit of the team.")
    team: Text = Field(description="The team; (business_unit, team) is unique.")
    headcount: Annotated[int, Field(gt=0)] = Field(description="Baseline headcount before agents.")
    routine_hours_per_month: Annotated[float, Field(gt=0, le=HOURS_LIMIT)] = Field(
        description="Routine (offloadable) work hours per month."
    )
    loaded_hourly_cost_usd: Annotated[
        Decimal, Field(gt=0, le=HOURLY_COST_LIMIT, max_digits=18, decimal_places=MONEY_SCALE)
    ] = Field(description="Fully loaded cost of an hour of work, in USD.")


MAPPED_NOTE = "Set by the organisation mapping (a value in the file is not used)."


class VendorCost(InputKind):
    """What a vendor billed, per day, account and line item (OpenAI and Anthropic cost reports
    are read into the same columns)."""

    kind: ClassVar[str] = "vendor_costs"
    key: ClassVar[tuple[str, ...]] = ("day", "vendor", "account", "line_item", "model")
    title: ClassVar[str] = "Vendor cost report"
    example: ClassVar[dict[str, str]] = {
        "day": "2025-03-04",
        "vendor": "openai",
        "account": "proj_brand_content",
        "line_item": "gpt-4o-2024-08-06, input",
        "amount_usd": "12.3456",
    }
    row_rules: ClassVar[tuple[RowRule, ...]] = (
        RowRule(
            "account",
            "account is null or function is not null",
            "no rule of the organisation mapping maps this account",
            needs_values=False,
            show_value=True,
        ),
    )

    day: dt.date = Field(description="The day billed (the UTC day the vendor's bucket starts).")
    vendor: Text = Field(description="Who billed: openai, anthropic, or any name (internal chargeback).")
    account: Text = Field(
        description="The vendor's account: an OpenAI project id, an Anthropic workspace id (default "
        "for Anthropic's default workspace), or any account name."
    )
    line_item: Text | None = Field(
        None,
        description="What was billed (OpenAI line_item; Anthropic cost type, token type, tier); "
        "empty for the day's total.",
    )
    model: Text | None = Field(None, description="The model billed, where the vendor names it.")
    amount_usd: SignedMoney = Field(description="The amount in USD, exact (negative for a credit).")
    currency: Literal["USD"] = Field("USD", description="The report's currency; only USD is accepted.")
    function: Text | None = Field(None, description=MAPPED_NOTE)
    business_unit: Text | None = Field(None, description=MAPPED_NOTE)
    team: Text | None = Field(None, description=MAPPED_NOTE)


class VendorUsage(InputKind):
    """Tokens and requests a vendor counted, per day, account and model (OpenAI's completions usage
    and Anthropic's usage report are read into the same columns)."""

    kind: ClassVar[str] = "vendor_usage"
    key: ClassVar[tuple[str, ...]] = ("day", "vendor", "account", "model", "line_item")
    title: ClassVar[str] = "Vendor usage report"
    example: ClassVar[dict[str, str]] = {
        "day": "2025-03-04",
        "vendor": "openai",
        "account": "proj_brand_content",
        "model": "gpt-4o-2024-08-06",
        "input_tokens": "120000",
        "output_tokens": "30000",
    }
    row_rules: ClassVar[tuple[RowRule, ...]] = VendorCost.row_rules

    day: dt.date = Field(description="The day counted (the UTC day the vendor's bucket starts).")
    vendor: Text = Field(description="Who counted: openai, anthropic, or any name.")
    account: Text = Field(
        description="The vendor's account: an OpenAI project id, an Anthropic workspace id (default "
        "for Anthropic's default workspace), or any account name."
    )
    model: Text | None = Field(None, description="The model used.")
    line_item: Text | None = Field(
        None,
        description="Other grouping the report carries (API key, user, batch, service tier), as key=value pairs.",
    )
    input_tokens: Count = Field(description="All input tokens, cached ones included.")
    cached_input_tokens: Count = Field(0, description="Input tokens read from the vendor's prompt cache.")
    output_tokens: Count = Field(description="Output tokens.")
    requests: Count | None = Field(None, description="Model requests, where the vendor counts them.")
    function: Text | None = Field(None, description=MAPPED_NOTE)
    business_unit: Text | None = Field(None, description=MAPPED_NOTE)
    team: Text | None = Field(None, description=MAPPED_NOTE)


class TaskBaseline(InputKind):
    """Minutes a task takes by hand and with an agent, for estimating time saved where no team
    documented it."""

    kind: ClassVar[str] = "task_baselines"
    key: ClassVar[tuple[str, ...]] = ("function", "business_unit", "team", "task_type")
    title: ClassVar[str] = "Task baselines"
    example: ClassVar[dict[str, str]] = {
        "function": "Marketing",
        "business_unit": "Consumer",
        "team": "Brand Content",
        "task_type": "campaign_brief",
        "baseline_minutes_per_task": "45",
        "minutes_per_task_with_agent": "8",
        "source": "estimate",
        "note": "Time study of 30 briefs, March 2025",
    }
    row_rules: ClassVar[tuple[RowRule, ...]] = (
        RowRule(
            "business_unit",
            "team is null or business_unit is not null",
            "is required when team is given (a team is named by business unit and team)",
            needs_values=False,
        ),
    )

    function: Text = Field(description="Business function the baseline applies to.")
    business_unit: Text | None = Field(
        None, description="Business unit it applies to; empty for the whole function."
    )
    team: Text | None = Field(None, description="Team it applies to; empty for the whole business unit.")
    task_type: Text | None = Field(None, description="Kind of task; empty for every kind.")
    baseline_minutes_per_task: Annotated[float, Field(gt=0, le=MINUTES_LIMIT)] = Field(
        description="Minutes a task takes a person without the agent."
    )
    minutes_per_task_with_agent: Annotated[float, Field(ge=0, le=MINUTES_LIMIT)] = Field(
        description="Minutes of human time per task with the agent (oversight, review, edits)."
    )
    source: Literal["documented", "estimate"] = Field(
        description="documented (measured, e.g. a time study) or estimate (a judgement or a vendor's figure)."
    )
    note: Text | None = Field(None, description="Where the figures come from.")


class Collaboration(InputKind):
    """Hours two teams spent working together in a period, one row per pair of teams and period."""

    kind: ClassVar[str] = "collaboration"
    key: ClassVar[tuple[str, ...]] = (
        "period_start",
        "source_business_unit",
        "source_team",
        "target_business_unit",
        "target_team",
    )
    title: ClassVar[str] = "Collaboration between teams"
    example: ClassVar[dict[str, str]] = {
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "source_function": "Marketing",
        "source_business_unit": "Consumer",
        "source_team": "Brand Content",
        "target_function": "Sales Operations",
        "target_business_unit": "Field Sales Ops",
        "target_team": "Deal Desk",
        "collaboration_hours": "42.5",
        "meeting_count": "18",
        "email_count": "240",
        "direction": "undirected",
    }
    row_rules: ClassVar[tuple[RowRule, ...]] = (
        RowRule("period_end", "period_end >= period_start", "must not be before period_start"),
        RowRule(
            "target_team",
            "source_business_unit <> target_business_unit or source_team <> target_team",
            "pairs a team with itself (time within a team is not a tie between teams)",
        ),
    )

    period_start: dt.date = Field(description="First day of the period; the row counts in this month.")
    period_end: dt.date = Field(description="Last day of the period (not before period_start).")
    source_function: Text = Field(description="Business function of the first team.")
    source_business_unit: Text = Field(description="Business unit of the first team.")
    source_team: Text = Field(description="The first team.")
    target_function: Text = Field(description="Business function of the second team.")
    target_business_unit: Text = Field(description="Business unit of the second team.")
    target_team: Text = Field(description="The second team (not the first team itself).")
    collaboration_hours: Annotated[float, Field(ge=0, le=HOURS_LIMIT)] = Field(
        description="Hours the two teams spent working together in the period (meetings, mail, chat, calls)."
    )
    meeting_count: Count | None = Field(None, description="Meetings the two teams shared in the period.")
    email_count: Count | None = Field(None, description="Emails between the two teams in the period.")
    direction: Literal["undirected", "directed"] = Field(
        "undirected",
        description="undirected: the hours are the pair's; directed: the hours the first team invested "
        "with the second (a tie adds both directions).",
    )


class VivaCollaboration(InputKind):
    """A Microsoft Viva Insights group-to-group query export, loaded as it comes.

    Its columns are named by the export (`PrimaryCollaborator_Organization`, `Group collaboration
    time invested`, or with underscores as the vivainsights packages rename them); viva.py reads
    them under these names. Each group is mapped to a team by the organisation mapping (source
    `viva.<attribute>`); the export's pseudo-groups `Within Group` and `Unclassified Collaborators`
    are kept as the primary group's own time and its time with people outside the query.
    """

    kind: ClassVar[str] = "viva_collaboration"
    key: ClassVar[tuple[str, ...]] = ("metric_date", "primary_collaborator", "secondary_collaborator")
    title: ClassVar[str] = "Viva Insights group-to-group collaboration"
    example: ClassVar[dict[str, str]] = {
        "PrimaryCollaborator_Organization": "Brand Content",
        "PrimaryCollaborator_GroupSize": "12",
        "SecondaryCollaborator_Organization": "Deal Desk",
        "SecondaryCollaborator_GroupSize": "9",
        "MetricDate": "2025-03-02",
        "% Group collaboration time invested": "6.2",
        "Group collaboration time invested": "21.5",
        "Group email sent count": "130",
        "Group email time invested": "7.5",
        "Group meeting count": "9",
        "Group meeting time invested": "14",
    }
    row_rules: ClassVar[tuple[RowRule, ...]] = (
        RowRule(
            "secondary_collaborator",
            "primary_collaborator <> secondary_collaborator",
            "pairs a group with itself (the export reports a group's own time as Within Group)",
        ),
    )

    primary_collaborator: Text = Field(
        description="The group whose time this is (PrimaryCollaborator_<attribute>).",
        json_schema_extra={"lookup": "_viva_teams"},
    )
    primary_group_size: Count | None = Field(None, description="People in the primary group.")
    secondary_collaborator: Text = Field(
        description="The group it spent the time with, or Within Group, or Unclassified Collaborators.",
        json_schema_extra={"lookup": "_viva_collaborators"},
    )
    secondary_group_size: Count | None = Field(None, description="People in the secondary group.")
    metric_date: dt.date = Field(
        description="Start of the week or month (MetricDate); summed per calendar month."
    )
    collaboration_share: Annotated[float, Field(ge=0)] | None = Field(
        None,
        description="% Group collaboration time invested: share of the primary group's collaboration time.",
    )
    collaboration_hours: Annotated[float, Field(ge=0, le=HOURS_LIMIT)] = Field(
        description="Group collaboration time invested: hours the primary group spent with the secondary."
    )
    email_count: Annotated[float, Field(ge=0)] | None = Field(None, description="Group email sent count.")
    email_hours: Annotated[float, Field(ge=0, le=HOURS_LIMIT)] | None = Field(
        None, description="Group email time invested."
    )
    meeting_count: Annotated[float, Field(ge=0)] | None = Field(None, description="Group meeting count.")
    meeting_hours: Annotated[float, Field(ge=0, le=HOURS_LIMIT)] | None = Field(
        None, description="Group meeting time invested."
    )


KINDS: dict[str, type[InputKind]] = {
    model.kind: model
    for model in (
        UsageEvent,
        TimeSaved,
        ReplicationEvent,
        Agent,
        OrgBaseline,
        VendorCost,
        VendorUsage,
        TaskBaseline,
        Collaboration,
    )
}
# Kinds read from a vendor's export as it comes (its own column names, through the organisation
# mapping), not written to the contract: they have tables and the lossless load, not a CSV example.
IMPORTED_KINDS: dict[str, type[InputKind]] = {VivaCollaboration.kind: VivaCollaboration}
kinds.check(tuple(KINDS), kinds.CONTRACT, "schema.KINDS")
kinds.check(tuple(IMPORTED_KINDS), kinds.IMPORTED, "schema.IMPORTED_KINDS")


def model_of(kind: str) -> type[InputKind]:
    """The model of a contract or imported kind."""
    return KINDS.get(kind) or IMPORTED_KINDS[kind]


@dataclass(frozen=True)
class Column:
    """One column of an input kind, as the store and the validator see it."""

    name: str
    base: str  # text, timestamp, date, integer, number, money
    required: bool
    default: object
    allowed: tuple[str, ...] | None
    ge: float | None
    gt: float | None
    description: str
    # A temporary table (column `value`) of the values the column may hold, filled for each load by
    # its importer: the groups the organisation mapping knows.
    lookup: str | None = None
    le: float | None = None  # the largest value the column may hold, where the contract sets one

    @property
    def sql_type(self) -> str:
        if self.allowed:
            return "ENUM(" + ", ".join("'" + option + "'" for option in self.allowed) + ")"
        return SQL_TYPES[self.base]

    @property
    def rule_text(self) -> str:
        """The column's rule in words, as the schema command and error messages say it."""
        parts = [BASE_WORDS[self.base]]
        if self.allowed:
            parts = ["one of " + ", ".join(self.allowed)]
        if self.ge is not None:
            parts.append(f"≥ {self.ge:g}")
        if self.gt is not None:
            parts.append(f"> {self.gt:g}")
        if self.le is not None:
            parts.append(f"≤ {bound_text(self.le)}")
        parts.append("required" if self.required else f"optional, default {self.default_text}")
        return "; ".join(parts)

    @property
    def default_text(self) -> str:
        return "empty" if self.default is None else str(self.default)


SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "money": MONEY_SQL,
}


def bound_text(bound: float) -> str:
    """A contract bound in words: 100,000 rather than 1e+05."""
    return f"{int(bound):,}" if bound.is_integer() else f"{bound:g}"


BASE_WORDS = {
    "text": "text",
    "timestamp": "an ISO 8601 timestamp",
    "date": "a date (YYYY-MM-DD)",
    "integer": "a whole number",
    "number": "a number",
    "money": f"a decimal number (at most {MONEY_SCALE} decimal places)",
}


def _unwrap(annotation: object) -> tuple[object, bool]:
    """Strip Optional from an annotation; say whether it allowed None."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return args[0], True
    return annotation, False


@functools.cache
def columns(model: type[InputKind]) -> tuple[Column, ...]:
    """The columns of an input kind, in contract order."""
    result = []
    for name, field in model.model_fields.items():
        annotation, _nullable = _unwrap(field.annotation)
        metadata = list(field.metadata)
        if typing.get_origin(annotation) is Annotated:
            annotation, *annotations = typing.get_args(annotation)
            for item in annotations:
                metadata.extend(getattr(item, "metadata", [item]))
        allowed = None
        if typing.get_origin(annotation) is Literal:
            allowed, base = tuple(typing.get_args(annotation)), "text"
        else:
            bases: dict[object, str] = {
                str: "text",
                dt.datetime: "timestamp",
                dt.date: "date",
                int: "integer",
                float: "number",
                Decimal: "money",
            }
            base = bases[annotation]
        # The contract's bounds are numbers; annotated_types types them as any comparable value.
        ge = next(
            (float(typing.cast(float, m.ge)) for m in metadata if isinstance(m, annotated_types.Ge)), None
        )
        gt = next(
            (float(typing.cast(float, m.gt)) for m in metadata if isinstance(m, annotated_types.Gt)), None
        )
        le = next(
            (float(typing.cast(float, m.le)) for m in metadata if isinstance(m, annotated_types.Le)), None
        )
        default = None if field.is_required() else field.default
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        lookup = extra.get("lookup")
        result.append(
            Column(
                name=name,
                base=base,
                required=field.is_required(),
                default=default,
                allowed=allowed,
                ge=ge,
                gt=gt,
                description=field.description or "",
                lookup=lookup if isinstance(lookup, str) else None,
                le=le,
            )
        )
    return tuple(result)


def detect_kind(names: list[str]) -> str | None:
    """The one kind whose required columns all appear in names, else None."""
    present = set(names)
    matches = [
        kind
        for kind, model in KINDS.items()
        if {column.name for column in columns(model) if column.required} <= present
    ]
    return matches[0] if len(matches) == 1 else None


def example_row(model: type[InputKind]) -> str:
    """The kind's example as a CSV header and row."""
    header = ",".join(model.example)
    row = ",".join(f'"{value}"' if "," in value else value for value in model.example.values())
    return f"{header}\n{row}"


def json_schema() -> dict[str, object]:
    """JSON Schema of every input kind, keyed by kind."""
    return {kind: model.model_json_schema() for kind, model in KINDS.items()}
