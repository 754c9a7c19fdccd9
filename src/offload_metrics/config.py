"""Settings: every threshold of the metrics, with default, bounds and description, loaded from TOML."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated

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


class Settings(_Group):
    """All settings of the metrics; each group is a TOML table."""

    gates: Gates = Field(default_factory=Gates)
    net_output: NetOutput = Field(default_factory=NetOutput)
    adoption: Adoption = Field(default_factory=Adoption)
    finance: Finance = Field(default_factory=Finance)

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


def non_defaults(settings: Settings) -> list[tuple[str, object, object]]:
    """(key, value, default) of every setting that differs from its default."""
    changed = []
    for row in describe_settings():
        group, name = str(row["key"]).split(".")
        value = getattr(getattr(settings, group), name)
        if value != row["default"]:
            changed.append((str(row["key"]), value, row["default"]))
    return changed


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
