"""Settings: every threshold of the metrics, with default, bounds and description, loaded from TOML."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
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
                    return role  # type: ignore[return-value]
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


def load_settings(path: str | os.PathLike[str] | None = None, *, must_exist: bool = False) -> Settings:
    """Settings from a TOML file; defaults where the file is absent or silent."""
    file = settings_path(path)
    if not file.exists():
        if must_exist or path is not None:
            raise SettingsError(f"{file}: settings file not found")
        return Settings()
    return parse_settings(_read_toml(file), source=str(file))


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
    return parse_roles(_read_toml(file).get(ROLES_TABLE, {}), source=str(file))  # type: ignore[arg-type]


def parse_roles(data: dict[str, object], source: str = "settings") -> Roles:
    try:
        return Roles.model_validate(data)
    except ValidationError as error:
        raise SettingsError(describe_error(error, source, prefix=f"{ROLES_TABLE}.")) from None


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
