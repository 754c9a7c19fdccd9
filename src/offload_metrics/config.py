"""Settings: every threshold of the metrics, with default, bounds and description, loaded from TOML."""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SETTINGS_ENV = "OFFLOAD_METRICS_CONFIG"
DEFAULT_SETTINGS_FILE = "offload.toml"

Share = Annotated[float, Field(ge=0, le=1)]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Gates(_Group):
    min_accuracy: Share = Field(0.80, description="An agent passes only with accuracy at or above this.")
    min_automation: Share = Field(0.90, description="An agent passes only with automation at or above this.")
    min_tasks: int = Field(50, ge=1, description="Fewer tasks in the window than this: insufficient data.")
    min_reviewed: int = Field(
        20, ge=1, description="Fewer reviewed tasks in the window than this: insufficient data."
    )
    window_days: int = Field(90, ge=1, le=3660, description="Days, ending at as_of, that the gate looks at.")


class NetOutput(_Group):
    validation_uplift: float = Field(
        0.30, ge=0, le=10, description="Uplift a team-month needs to count as validated Net Output."
    )
    hours_per_fte_month: float = Field(
        160, gt=0, le=744, description="Working hours of one full-time person in a month."
    )


class Adoption(_Group):
    phase_bounds: tuple[Share, Share, Share] = Field(
        (0.10, 0.15, 0.60),
        description="Offloaded-share bounds between pilot plateau, crossing point, acceleration, saturation.",
    )
    scale_share: Share = Field(
        0.40, description="Share a function needs for the month to count toward scale."
    )
    scale_min_functions: int = Field(
        2, ge=1, description="Functions at scale_share needed for a month to be at scale."
    )
    scale_months: tuple[int, int] = Field(
        (18, 36), description="Months to scale that count as on track (inclusive band)."
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


class Finance(_Group):
    reinvestment_share: Share = Field(
        0.25, description="Share of positive net savings earmarked for the reinvestment pool."
    )
    default_hourly_cost_usd: float = Field(
        60, gt=0, description="Hourly rate for teams without a baseline rate, in USD."
    )


class Ingest(_Group):
    min_date: dt.date = Field(
        dt.date(1900, 1, 1),
        description="Dates and timestamps (UTC) before this day are rejected at ingest.",
    )
    max_date: dt.date = Field(
        dt.date(2199, 12, 31),
        description="Dates and timestamps (UTC) after this day are rejected at ingest.",
    )

    @field_validator("max_date")
    @classmethod
    def _after_min(cls, max_date: dt.date, info) -> dt.date:
        min_date = info.data.get("min_date")
        if min_date is not None and max_date < min_date:
            raise ValueError("must not be before ingest.min_date")
        return max_date

    def fingerprint(self) -> str:
        """What a load records of the settings it ran with; a load with another fingerprint is new.

        A JSON object, keys sorted, so equal settings give equal text; other inputs of a load (a
        mapping file's digest) are further top-level keys beside "settings"."""
        return json.dumps({"settings": {"ingest": self.model_dump(mode="json")}}, sort_keys=True)


class MappingSettings(_Group):
    file: str = Field(
        "",
        description="Organisation mapping file (TOML or CSV) for telemetry and other imports; "
        "a relative path is read from the settings file's folder; empty: none, imports are unmapped.",
    )


PricePerMillion = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=8)]


class Telemetry(_Group):
    task_type_attribute: str = Field(
        "",
        description="Span attribute (OpenTelemetry) or metadata key (Langfuse) naming the task type; "
        "empty: the span or observation name.",
    )
    escalated_attribute: str = Field(
        "",
        description="Span attribute, span event name (OpenTelemetry) or metadata key (Langfuse) that marks "
        "an agent run as escalated when present and not false; empty: none.",
    )
    review_evaluation: str = Field(
        "",
        description="Evaluation name (gen_ai.evaluation.name) or Langfuse score name that is the review; "
        "empty: any evaluation on the span, and no Langfuse score.",
    )
    review_threshold: float = Field(
        0.5,
        description="A numeric evaluation score at or above this reviews the task correct, below it incorrect.",
    )
    langfuse_event_per: Literal["agent", "trace"] = Field(
        "agent", description="One usage event per Langfuse AGENT observation (agent) or per trace (trace)."
    )
    prices: dict[str, tuple[PricePerMillion, PricePerMillion]] = Field(
        default_factory=dict,
        description="USD per million input and output tokens by model, for agent runs that carry no cost; "
        "such cost is marked estimated.",
    )


class Settings(_Group):
    """All settings of the metrics; each group is a TOML table."""

    gates: Gates = Field(default_factory=Gates)
    net_output: NetOutput = Field(default_factory=NetOutput)
    adoption: Adoption = Field(default_factory=Adoption)
    finance: Finance = Field(default_factory=Finance)
    ingest: Ingest = Field(default_factory=Ingest)
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    telemetry: Telemetry = Field(default_factory=Telemetry)

    @property
    def crossing_share(self) -> float:
        """The share at which a function crosses into acceleration: the cascade threshold."""
        return self.adoption.phase_bounds[1]


class SettingsError(ValueError):
    """A settings file that cannot be used, with one line per problem."""


def describe_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid settings"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"  {key}: {message} (got {problem.get('input')!r})")
    return "\n".join(lines)


def settings_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The settings file: --config, else OFFLOAD_METRICS_CONFIG, else offload.toml here."""
    return Path(explicit or os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS_FILE)


def load_settings(path: str | os.PathLike[str] | None = None, *, must_exist: bool = False) -> Settings:
    """Settings from a TOML file; defaults where the file is absent or silent."""
    file = settings_path(path)
    if not file.exists():
        if must_exist or path is not None:
            raise SettingsError(f"{file}: settings file not found")
        return Settings()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{file}: not valid TOML: {error}") from None
    return parse_settings(data, source=str(file))


def mapping_file(settings: Settings, settings_file: Path) -> Path | None:
    """The mapping file the settings name, a relative path taken from the settings file's folder."""
    if not settings.mapping.file:
        return None
    named = Path(settings.mapping.file).expanduser()
    return named if named.is_absolute() else settings_file.parent / named


def parse_settings(data: dict[str, object], source: str = "settings") -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(describe_error(error, source)) from None


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write settings as TOML, atomically, and return the path written."""
    file = settings_path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_suffix(file.suffix + ".tmp")
    temporary.write_text(tomli_w.dumps(settings.model_dump(mode="json")), encoding="utf-8")
    temporary.replace(file)
    return file


def describe_settings() -> list[dict[str, object]]:
    """Every setting with its key, default and description, for docs and the settings form."""
    rows = []
    for group_name, group_field in Settings.model_fields.items():
        group = group_field.default_factory()  # type: ignore[misc]
        for name, field in type(group).model_fields.items():
            rows.append(
                {
                    "key": f"{group_name}.{name}",
                    "default": getattr(group, name),
                    "description": field.description,
                }
            )
    return rows


def split_numbers(text: str) -> list[float]:
    """Numbers typed as "0.10, 0.15, 0.60" (a list setting in a form)."""
    try:
        return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise SettingsError(f"{text!r}: expected numbers separated by commas") from None
