"""Settings: every threshold of the metrics, with default, bounds and description, loaded from TOML."""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SETTINGS_ENV = "OFFLOAD_METRICS_CONFIG"
DEFAULT_SETTINGS_FILE = "offload.toml"

Share = Annotated[float, Field(ge=0, le=1)]


class _Group(BaseModel):
    # A setting is a finite number: NaN or infinity would reach the JSON report as NaN/Infinity
    # (which JSON parsers refuse) or fail a query's cast, blamed on the database.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class Gates(_Group):
    model_config = ConfigDict(title="Performance gate")

    min_accuracy: Share = Field(
        0.80, title="Minimum accuracy", description="An agent passes only with accuracy at or above this."
    )
    min_automation: Share = Field(
        0.90, title="Minimum automation", description="An agent passes only with automation at or above this."
    )
    min_tasks: int = Field(
        50, ge=1, title="Minimum tasks", description="Fewer tasks in the window than this: insufficient data."
    )
    min_reviewed: int = Field(
        20,
        ge=1,
        title="Minimum reviewed",
        description="Fewer reviewed tasks in the window than this: insufficient data.",
    )
    window_days: int = Field(
        90, ge=1, le=3660, title="Window (days)", description="Days, ending at as_of, that the gate looks at."
    )


class NetOutput(_Group):
    model_config = ConfigDict(title="Net Output")

    validation_uplift: float = Field(
        0.30,
        ge=0,
        le=10,
        json_schema_extra={"typed_as": "share"},
        title="Validation uplift",
        description="Uplift a team-month needs to count as validated Net Output.",
    )
    hours_per_fte_month: float = Field(
        160,
        gt=0,
        le=744,
        title="Hours per FTE month",
        description="Working hours of one full-time person in a month.",
    )


class Adoption(_Group):
    model_config = ConfigDict(title="Adoption")

    phase_bounds: tuple[Share, Share, Share] = Field(
        (0.10, 0.15, 0.60),
        title="Phase bounds",
        description="Offloaded-share bounds between pilot plateau, crossing point, acceleration, saturation.",
    )
    scale_share: Share = Field(
        0.40, title="Scale share", description="Share a function needs for the month to count toward scale."
    )
    scale_min_functions: int = Field(
        2,
        ge=1,
        title="Functions for scale",
        description="Functions at scale_share needed for a month to be at scale.",
    )
    scale_months: tuple[int, int] = Field(
        (18, 36),
        title="Months to scale (on track)",
        description="Months to scale that count as on track (inclusive band).",
    )

    @field_validator("phase_bounds")
    @classmethod
    def _increasing(cls, bounds: tuple[float, float, float]) -> tuple[float, float, float]:
        if not bounds[0] < bounds[1] < bounds[2]:
            raise ValueError("must be three increasing shares, e.g. [0.10, 0.15, 0.60]")
        return bounds

    @field_validator("scale_months")
    @classmethod
    def _band(cls, band: tuple[int, int]) -> tuple[int, int]:
        if not 0 < band[0] <= band[1]:
            raise ValueError("must be [low, high] months with 0 < low <= high, e.g. [18, 36]")
        return band


COST_SOURCES = {
    "usage": "the usage log",
    "vendor": "the vendors' bills",
    "larger": "the larger of the two",
}
CostSource = Literal["usage", "vendor", "larger"]


class Finance(_Group):
    model_config = ConfigDict(title="Finance", json_schema_extra={"finance": True})

    reinvestment_share: Share = Field(
        0.25,
        title="Reinvestment share",
        description="Share of positive net savings earmarked for the reinvestment pool.",
    )
    default_hourly_cost_usd: float = Field(
        60,
        gt=0,
        le=1_000_000,  # money is DECIMAL(18, 8): a rate past any real one would overflow its sums
        title="Default hourly cost (USD)",
        description="Hourly rate for teams without a baseline rate, in USD.",
    )
    cost_source: CostSource = Field(
        "usage",
        json_schema_extra={"choices": {source: words for source, words in COST_SOURCES.items()}},
        title="Agent cost from",
        description="Which agent cost finance uses per function-month: usage (the usage log), vendor "
        "(the vendor cost reports) or larger (the larger of the two).",
    )


SIX_MINUTES = "6 minutes per completed task"
Minutes = Annotated[float, Field(ge=0, le=100000)]


class Estimates(_Group):
    model_config = ConfigDict(title="Estimates", json_schema_extra={"finance": True})

    preset: str = Field(
        "",
        json_schema_extra={"choices_from": "presets"},
        title="Estimate preset",
        description="Named preset of estimates.presets used where no task baseline applies; empty: none "
        "(no estimate without a task baseline).",
    )
    presets: dict[str, tuple[Minutes, Minutes]] = Field(
        default_factory=lambda: {SIX_MINUTES: (6.0, 0.0)},
        title="Estimate presets",
        description="Named presets: [baseline minutes, minutes with the agent] per completed task, "
        "for the whole organisation.",
    )

    @field_validator("presets")
    @classmethod
    def _saves_time(cls, presets: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (baseline, _with_agent) in presets.items():
            if not name.strip() or baseline <= 0:
                raise ValueError(f"preset {name!r} needs a name and baseline minutes above 0")
        return presets

    @model_validator(mode="after")
    def _preset_is_named(self) -> Estimates:
        if self.preset and self.preset not in self.presets:
            raise ValueError(f"preset {self.preset!r} is not one of the presets: {', '.join(self.presets)}")
        return self

    @property
    def chosen(self) -> tuple[float, float] | None:
        """The chosen preset's (baseline, with-agent) minutes, or None."""
        return self.presets.get(self.preset) if self.preset else None


class Ingest(_Group):
    model_config = ConfigDict(title="Ingest")

    min_date: dt.date = Field(
        dt.date(1900, 1, 1),
        title="Earliest date",
        description="Dates and timestamps (UTC) before this day are rejected at ingest.",
    )
    max_date: dt.date = Field(
        dt.date(2199, 12, 31),
        title="Latest date",
        description="Dates and timestamps (UTC) after this day are rejected at ingest.",
    )

    @field_validator("max_date")
    @classmethod
    def _after_min(cls, max_date: dt.date, info) -> dt.date:
        min_date = info.data.get("min_date")
        if min_date is not None and max_date < min_date:
            raise ValueError("must not be before ingest.min_date")
        return max_date

    def fingerprint(self, **inputs: object) -> str:
        """What a load records of the settings it ran with; a load with another fingerprint is new.

        A JSON object, keys sorted, so equal settings give equal text; other inputs of a load (a
        mapping file's digest, an importer's settings) are further top-level keys beside "settings"."""
        return json.dumps({"settings": {"ingest": self.model_dump(mode="json")}, **inputs}, sort_keys=True)


# A function's stated appetite for risk and autonomy (0 cautious, 1 eager), as the domain's playbook
# describes functions; an organisation overrides any of them, and names its own functions.
DEFAULT_APPETITE = {
    "Marketing": 0.9,
    "R&D": 0.85,
    "Sales Operations": 0.7,
    "Customer Support": 0.6,
    "HR": 0.45,
    "Finance": 0.3,
    "Legal": 0.2,
}


class Network(_Group):
    model_config = ConfigDict(title="Network")

    bridge_share: Share = Field(
        0.4,
        title="Bridge share",
        description="A team is a bridge when ties to other business units carry more than this share of its hours.",
    )
    centrality_weight: float = Field(
        0.4,
        ge=0,
        json_schema_extra={"step": 0.1},
        title="Centrality weight",
        description="Weight of the network centrality index in the seed score.",
    )
    appetite_weight: float = Field(
        0.3,
        ge=0,
        json_schema_extra={"step": 0.1},
        title="Appetite weight",
        description="Weight of the function's appetite for risk in the seed score.",
    )
    pain_weight: float = Field(
        0.3,
        ge=0,
        json_schema_extra={"step": 0.1},
        title="Pain weight",
        description="Weight of the team's pain (routine hours, slow tasks) in the seed score.",
    )
    appetite: dict[str, Share] = Field(
        default_factory=lambda: dict(DEFAULT_APPETITE),
        title="Appetite by function",
        description="Stated appetite for risk per function, from 0 (cautious) to 1 (eager).",
    )
    default_appetite: Share = Field(
        0.5,
        title="Default appetite",
        description="Stated appetite of a function the appetite table does not name.",
    )
    measured_appetite_weight: Share = Field(
        0.5,
        title="Measured appetite weight",
        description="Weight of the measured appetite (how fast the function's first agents were validated) "
        "against the stated one, where it can be measured.",
    )
    first_agents: int = Field(
        3,
        ge=1,
        title="First agents measured",
        description="How many of a function's first agents measure its appetite.",
    )
    min_tie_hours: float = Field(
        0,
        ge=0,
        title="Minimum tie hours",
        description="Two business units are tied when their teams spent more hours together than this.",
    )
    min_replications: int = Field(
        5,
        ge=1,
        title="Minimum replications",
        description="Fewer replications than this are too few to tell whether they followed the network.",
    )
    permutations: int = Field(
        2000,
        ge=100,
        le=1_000_000,
        title="Permutations",
        description="Random reassignments in the permutation test.",
    )
    random_seed: int = Field(
        7,
        title="Random seed",
        description="Seed of the permutation test and of the network picture's layout.",
    )
    significance: Share = Field(
        0.05,
        title="Significance",
        description="A p-value below this says replication followed the network more than chance would.",
    )

    @field_validator("appetite", mode="before")
    @classmethod
    def _over_defaults(cls, given: object) -> object:
        """A settings table names the functions it changes; the others keep their defaults."""
        return {**DEFAULT_APPETITE, **given} if isinstance(given, dict) else given

    def appetite_of(self, function: str) -> float:
        return self.appetite.get(function, self.default_appetite)

    @property
    def seed_weights(self) -> tuple[float, float, float]:
        return (self.centrality_weight, self.appetite_weight, self.pain_weight)

    @field_validator("pain_weight")
    @classmethod
    def _some_weight(cls, pain: float, info) -> float:
        if pain + info.data.get("centrality_weight", 0) + info.data.get("appetite_weight", 0) <= 0:
            raise ValueError("the seed score needs at least one weight above 0")
        return pain


class MappingSettings(_Group):
    model_config = ConfigDict(title="Organisation mapping")

    file: str = Field(
        "",
        json_schema_extra={"admin": True},
        title="Mapping file",
        description="Organisation mapping file (TOML or CSV) for telemetry and other imports; "
        "a relative path is read from the settings file's folder; empty: none, imports are unmapped.",
    )


PricePerMillion = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=8)]


class Telemetry(_Group):
    model_config = ConfigDict(title="Telemetry")

    task_type_attribute: str = Field(
        "",
        title="Task type attribute",
        description="Span attribute (OpenTelemetry) or metadata key (Langfuse) naming the task type; "
        "empty: the span or observation name.",
    )
    escalated_attribute: str = Field(
        "",
        title="Escalated attribute",
        description="Span attribute, span event name (OpenTelemetry) or metadata key (Langfuse) that marks "
        "an agent run as escalated when present and not false; empty: none.",
    )
    review_evaluation: str = Field(
        "",
        title="Review evaluation",
        description="Evaluation name (gen_ai.evaluation.name) or Langfuse score name that is the review; "
        "empty: any evaluation on the span, and no Langfuse score.",
    )
    review_threshold: float = Field(
        0.5,
        json_schema_extra={"step": 0.05},
        title="Review threshold",
        description="A numeric evaluation score at or above this reviews the task correct, below it incorrect; a score that is no finite number (NaN) reviews nothing.",
    )
    langfuse_event_per: Literal["agent", "trace"] = Field(
        "agent",
        title="Langfuse event per",
        description="One usage event per Langfuse AGENT observation (agent) or per trace (trace).",
    )
    prices: dict[str, tuple[PricePerMillion, PricePerMillion]] = Field(
        default_factory=dict,
        json_schema_extra={"finance": True},
        title="Token prices (USD per million)",
        description="USD per million input and output tokens by model, for agent runs that carry no cost; "
        "such cost is marked estimated.",
    )


class Forecast(_Group):
    model_config = ConfigDict(title="Forecast")

    min_months: int = Field(
        6,
        ge=3,
        le=120,
        title="Minimum months",
        description="Months with time-saved data a function needs before it gets a forecast.",
    )
    interval: float = Field(
        0.80,
        gt=0,
        lt=1,
        json_schema_extra={"step": 0.05},
        title="Interval",
        description="Coverage of the forecast's range (0.80: the middle 80% of draws).",
    )
    draws: int = Field(
        100,
        ge=20,
        le=5_000,
        title="Draws",
        description="Bootstrap refits (resampled residuals) that make the range.",
    )
    seed: int = Field(
        1, title="Seed", description="Seed of the draws, so the same data gives the same range."
    )
    horizon_months: int = Field(
        120,
        ge=1,
        le=600,
        title="Horizon (months)",
        description="Months past as_of beyond which a crossing counts as not in sight.",
    )
    chart_months: int = Field(
        24,
        ge=1,
        le=120,
        title="Chart months",
        description="Months past as_of that the charts draw the projection for.",
    )


class Alerts(_Group):
    model_config = ConfigDict(title="Alerts")

    gate_lookback_days: int = Field(
        30,
        ge=1,
        le=3660,
        title="Gate lookback (days)",
        description="An agent failing its gate at as_of alerts unless it failed this many days earlier too.",
    )
    cost_multiple: float = Field(
        2.0,
        gt=1,
        le=100,
        json_schema_extra={"step": 0.5},
        title="Cost multiple",
        description="Cost per task more than this many times its trailing median alerts.",
    )
    cost_trailing_months: int = Field(
        6,
        ge=1,
        le=60,
        title="Cost trailing months",
        description="Months before the as_of month whose median cost per task is the yardstick.",
    )
    plateau_months: int = Field(
        12, ge=1, le=240,
        title="Plateau months", description="Months since the first deployment after which a function still in the pilot plateau alerts.",
    )  # fmt: skip
    waiting_days: int = Field(
        90,
        ge=1,
        le=3660,
        title="Waiting days",
        description="Days a validated agent may wait for a first copy before it alerts.",
    )
    usage_drop: Share = Field(
        0.5,
        title="Usage drop",
        description="Fall in an agent's tasks from one month to the next (0.5: half) that alerts.",
    )
    min_usage_tasks: int = Field(
        20,
        ge=1,
        title="Minimum usage tasks",
        description="Tasks an agent needs in the earlier month for a fall to count.",
    )
    webhook_url: str = Field(
        "",
        json_schema_extra={"admin": True},
        title="Webhook URL",
        description="URL that receives the alerts as JSON (POST) from the alerts command; empty: none.",
    )
    webhook_timeout_seconds: float = Field(
        10,
        gt=0,
        le=120,
        title="Webhook timeout (seconds)",
        description="Seconds the alerts command waits for the webhook.",
    )


class Settings(_Group):
    """All settings of the metrics; each group is a TOML table."""

    gates: Gates = Field(default_factory=Gates)
    net_output: NetOutput = Field(default_factory=NetOutput)
    adoption: Adoption = Field(default_factory=Adoption)
    finance: Finance = Field(default_factory=Finance)
    ingest: Ingest = Field(default_factory=Ingest)
    estimates: Estimates = Field(default_factory=Estimates)
    network: Network = Field(default_factory=Network)
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    telemetry: Telemetry = Field(default_factory=Telemetry)
    forecast: Forecast = Field(default_factory=Forecast)
    alerts: Alerts = Field(default_factory=Alerts)


ROLE_NAMES = ("executive", "program", "finance", "admin")
Role = Literal["executive", "program", "finance", "admin"]


class Roles(_Group):
    """Who may see what once sign-in is on: the settings file's [roles] table.

    Read from the file on every check, never from a session, so no one can widen their own role; it
    is not part of the metrics' settings (not in reports, not on the settings form).
    """

    executive: list[str] = Field(
        [], description="Emails or group names that see the leadership and program pages, without money."
    )
    program: list[str] = Field(
        [], description="Emails or group names that see the leadership and program pages, without money."
    )
    finance: list[str] = Field(
        [], description="Emails or group names that also see the Finance page and every dollar figure."
    )
    admin: list[str] = Field(
        [], description="Emails or group names that also load files, save settings and clear the database."
    )
    groups_claim: str = Field(
        "groups", min_length=1, description="The OIDC claim that lists a signed-in user's groups."
    )
    default_role: Literal["executive", "program", "finance", "admin", "none"] = Field(
        "executive", description="The role of a signed-in user no entry names; 'none' turns them away."
    )

    def role_of(self, email: str | None, groups: Sequence[str] = ()) -> Role | None:
        """The highest role whose entries name the email (any case) or one of the groups."""
        names = {str(group) for group in groups}
        address = (email or "").strip().casefold()
        for role in reversed(ROLE_NAMES):
            for entry in getattr(self, role):
                if entry in names or (address and entry.strip().casefold() == address):
                    return role  # type: ignore[return-value]  # ROLE_NAMES lists exactly Role's values
        return None if self.default_role == "none" else self.default_role


ROLES_TABLE = "roles"


class SettingsError(ValueError):
    """A settings file that cannot be used, with one line per problem."""


def describe_error(error: ValidationError, source: str, prefix: str = "") -> str:
    lines = [f"{source}: invalid settings"]
    for problem in error.errors():
        key = prefix + ".".join(str(part) for part in problem["loc"])
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"  {key}: {message} (got {problem.get('input')!r})")
    return "\n".join(lines)


def settings_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The settings file: --config, else OFFLOAD_METRICS_CONFIG, else offload.toml here."""
    return Path(explicit or os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS_FILE)


def _read_toml(file: Path) -> dict[str, object]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{file}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise SettingsError(f"{file}: not UTF-8 text (byte {error.start} cannot be read)") from None


def load_settings(path: str | os.PathLike[str] | None = None, *, must_exist: bool = False) -> Settings:
    """Settings from a TOML file; defaults where the file is absent or silent."""
    file = settings_path(path)
    if not file.exists():
        if must_exist or path is not None:
            raise SettingsError(f"{file}: settings file not found")
        return Settings()
    return parse_settings(_read_toml(file), source=str(file))


def mapping_file(settings: Settings, settings_file: Path) -> Path | None:
    """The mapping file the settings name, a relative path taken from the settings file's folder."""
    if not settings.mapping.file:
        return None
    named = Path(settings.mapping.file).expanduser()
    return named if named.is_absolute() else settings_file.parent / named


def parse_settings(data: dict[str, object], source: str = "settings") -> Settings:
    """The metrics' settings; a [roles] table beside them is read by load_roles."""
    try:
        return Settings.model_validate({key: value for key, value in data.items() if key != ROLES_TABLE})
    except ValidationError as error:
        raise SettingsError(describe_error(error, source)) from None


def load_roles(path: str | os.PathLike[str] | None = None) -> Roles:
    """The [roles] table of the settings file (nobody named, everyone signed in an executive, if absent)."""
    file = settings_path(path)
    if not file.exists():
        return Roles()
    return parse_roles(_read_toml(file).get(ROLES_TABLE, {}), source=str(file))  # type: ignore[arg-type]  # TOML tables are dicts; parse_roles checks the shape


def parse_roles(data: dict[str, object], source: str = "settings") -> Roles:
    try:
        return Roles.model_validate(data)
    except ValidationError as error:
        raise SettingsError(describe_error(error, source, prefix=f"{ROLES_TABLE}.")) from None


# What an admin-only setting that is set reads as where others can see the settings.
WITHHELD = "(set; shown to admins only)"


def shared(settings: Settings) -> dict[str, Any]:
    """The settings as a report gives them to its readers: an admin-only setting (the webhook
    address, whose path is a secret token) says only whether it is set."""
    data = settings.model_dump(mode="json")
    for group, fields in data.items():
        model = type(getattr(settings, group))
        for name, value in fields.items():
            extra = model.model_fields[name].json_schema_extra
            if value and isinstance(extra, dict) and extra.get("admin"):
                fields[name] = WITHHELD
    return data


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write settings as TOML, atomically, keeping the file's [roles] table; return the path written."""
    file = settings_path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(mode="json")
    if file.exists():
        roles = _read_toml(file).get(ROLES_TABLE)
        if roles is not None:
            data[ROLES_TABLE] = roles
    temporary = file.with_suffix(file.suffix + ".tmp")
    temporary.write_text(tomli_w.dumps(data), encoding="utf-8")
    temporary.replace(file)
    return file


def describe_settings() -> list[dict[str, object]]:
    """Every setting with its key, default and description, for docs and the settings form."""
    rows = []
    defaults = Settings()
    for group_name in Settings.model_fields:
        group = getattr(defaults, group_name)
        for name, field in type(group).model_fields.items():
            rows.append(
                {
                    "key": f"{group_name}.{name}",
                    "default": getattr(group, name),
                    "description": field.description,
                }
            )
    return rows


def non_defaults(settings: Settings) -> list[tuple[str, object, object]]:
    """(key, value, default) of every setting that differs from its default."""
    changed = []
    for row in describe_settings():
        group, name = str(row["key"]).split(".")
        value = getattr(getattr(settings, group), name)
        if value != row["default"]:
            changed.append((str(row["key"]), value, row["default"]))
    return changed


def changes(before: Settings, after: Settings) -> list[str]:
    """Each setting that differs, as 'group.key: before -> after'."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return [
        f"{group}.{key}: {old[group][key]} -> {value}"
        for group, values in new.items()
        for key, value in values.items()
        if old[group][key] != value
    ]


def split_numbers(text: str) -> list[float]:
    """Numbers typed as "0.10, 0.15, 0.60" (a list setting in a form)."""
    try:
        return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise SettingsError(f"{text!r}: expected numbers separated by commas") from None


def parse_share(text: object) -> tuple[float, str]:
    """A share typed as 0.8, 80 or 80%: the fraction, and how the text was read. A number with % or
    above 1 is a percent; one from 0 to 1 is a fraction."""
    typed = str(text).strip()
    number = typed.removesuffix("%").strip().replace(",", ".")
    try:
        value = float(number)
    except ValueError:
        raise SettingsError(f"{typed!r}: expected a share such as 0.8, 80 or 80%") from None
    if typed.endswith("%") or value > 1:
        fraction = value / 100
        return fraction, f"read {typed!r} as a percent: {fraction * 100:g}% ({fraction:g})"
    return value, f"read {typed!r} as a fraction: {value * 100:g}% ({value:g})"


def split_shares(text: str) -> tuple[list[float], list[str]]:
    """Shares typed as "10%, 15%, 60%", "10, 15, 60" or "0.1, 0.15, 0.6" (a list setting in a form)."""
    parsed = [parse_share(part) for part in text.replace(";", ",").split(",") if part.strip()]
    return [value for value, _ in parsed], [how for _, how in parsed]
