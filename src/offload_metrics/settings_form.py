"""The settings form, generated from the pydantic settings: one widget per field, checked by the model.

Each field's label is its `title`, its hover text its `description`, its bounds and step its
constraints (and `json_schema_extra` where a field asks for more), so a setting added to config.py
has its widget. The form shows pydantic's objection in plain words beside the field it concerns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib
import typing
from collections.abc import Mapping, Sequence
from decimal import Decimal

import annotated_types
import streamlit as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from offload_metrics import config, display
from offload_metrics.config import Settings

# How a value is typed into the form.
SHARE = "share"  # text: 0.8, 80 or 80%
SHARES = "shares"  # text: shares separated by commas
NUMBERS = "numbers"  # text: numbers separated by commas
INTEGER = "integer"
DECIMAL = "decimal"
CHOICE = "choice"
TEXT = "text"
DATE = "date"
TABLE = "table"  # text: one `"name" = value` line per entry (TOML)

SHARE_HELP = "A share: type 0.8, 80 or 80%. "
TABLE_HELP = 'One line per entry, as in the settings file: "name" = value. '
# The groups side by side at the top of the form, as one column each; the others follow under
# "More settings". A group named in a column shows its fields there in the order config.py lists them.
COLUMNS = (("gates",), ("finance", "estimates"), ("adoption",), ("net_output",))
FIRST_DAY, LAST_DAY = dt.date(1, 1, 1), dt.date(9999, 12, 31)


@dataclasses.dataclass(frozen=True)
class FormField:
    """One setting as the form shows it."""

    group: str
    name: str
    label: str
    help: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, str] | None = None
    choices_from: str | None = None
    finance: bool = False
    admin: bool = False

    @property
    def key(self) -> str:
        """The widget's key (and the setting's key in the settings file, after `s_`)."""
        return f"s_{self.group}.{self.name}"


def _bounds(metadata: Sequence[object]) -> tuple[float | None, float | None]:
    """The inclusive lower and upper bounds (ge, le) among a field's constraints, where it has them."""
    lower = next((item.ge for item in metadata if isinstance(item, annotated_types.Ge)), None)
    upper = next((item.le for item in metadata if isinstance(item, annotated_types.Le)), None)
    return lower, upper  # type: ignore[return-value]  # annotated_types types a bound as comparable; settings' are numbers


def _is_share(annotation: object, metadata: Sequence[object]) -> bool:
    """A float from 0 to 1 (config.Share): typed as a share."""
    return annotation is float and _bounds(metadata) == (0, 1)


def _is_share_item(item: object) -> bool:
    """Whether an item of a tuple setting is a config.Share (Annotated[float, Field(ge=0, le=1)])."""
    if typing.get_origin(item) is not typing.Annotated:
        return False
    base, *parts = typing.get_args(item)
    return _is_share(
        base, [bound for part in parts if isinstance(part, FieldInfo) for bound in part.metadata]
    )


def _kind(annotation: object, info: FieldInfo, extra: Mapping[str, object]) -> str:
    origin = typing.get_origin(annotation)
    if extra.get("typed_as") == SHARE or _is_share(annotation, info.metadata):
        return SHARE
    if extra.get("choices_from") or origin is typing.Literal:
        return CHOICE
    if origin is tuple:
        items = typing.get_args(annotation)
        return SHARES if all(_is_share_item(item) for item in items) else NUMBERS
    if origin is dict:
        return TABLE
    if annotation is dt.date:
        return DATE
    if annotation is int:
        return INTEGER
    if annotation in (float, Decimal):
        return DECIMAL
    if annotation is str:
        return TEXT
    raise TypeError(f"the settings form has no widget for {annotation!r}")


def _model(group: str) -> type[BaseModel]:
    """The pydantic model of a group of settings (a TOML table)."""
    return typing.cast(type[BaseModel], Settings.model_fields[group].default_factory)


def fields() -> list[FormField]:
    """Every setting, group by group, as config.Settings declares them."""
    found = []
    for group in Settings.model_fields:
        model = _model(group)
        group_extra = model.model_config.get("json_schema_extra") or {}
        assert isinstance(group_extra, dict)
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            kind = _kind(info.annotation, info, extra)
            choices = (
                typing.get_args(info.annotation)
                if typing.get_origin(info.annotation) is typing.Literal
                else ()
            )
            integer = kind == INTEGER
            step = extra.get("step", 1 if integer else 1.0) if kind in (INTEGER, DECIMAL) else None
            minimum, maximum = _bounds(info.metadata)
            found.append(
                FormField(
                    group=group,
                    name=name,
                    label=info.title or name.replace("_", " ").capitalize(),
                    help={SHARE: SHARE_HELP, SHARES: SHARE_HELP, TABLE: TABLE_HELP}.get(kind, "")
                    + (info.description or ""),
                    kind=kind,
                    minimum=minimum,
                    maximum=maximum,
                    step=typing.cast(float | None, step),
                    choices=tuple(str(choice) for choice in choices),
                    choice_labels=typing.cast(Mapping[str, str] | None, extra.get("choices")),
                    choices_from=typing.cast(str | None, extra.get("choices_from")),
                    finance=bool(group_extra.get("finance") or extra.get("finance")),
                    admin=bool(extra.get("admin")),
                )
            )
    return found


def shown_value(field: FormField, settings: Settings) -> object:
    """The setting's current value as its widget starts."""
    value = getattr(getattr(settings, field.group), field.name)
    if field.kind == SHARE:
        return display.setting_share(value)
    if field.kind == SHARES:
        return ", ".join(display.setting_share(item) for item in value)
    if field.kind == NUMBERS:
        return ", ".join(str(item) for item in value)
    if field.kind == TABLE:
        dumped = getattr(settings, field.group).model_dump(mode="json")[field.name]
        return "".join(f"{json.dumps(name)} = {json.dumps(entry)}\n" for name, entry in dumped.items())
    if field.kind == DECIMAL:
        return float(value)
    return value


class FieldError(ValueError):
    """What is wrong with what was typed into one field."""


def typed_value(field: FormField, entered: object) -> tuple[object, list[str]]:
    """What a widget's entry means as a setting, and how text was read (for shares)."""
    try:
        if field.kind == SHARE:
            value, how = config.parse_share(entered)
            return value, [how]
        if field.kind == SHARES:
            values, read = config.split_shares(str(entered))
            return values, read
        if field.kind == NUMBERS:
            return config.split_numbers(str(entered)), []
    except config.SettingsError as error:
        raise FieldError(str(error)) from None
    if field.kind == TABLE:
        try:
            return tomllib.loads(str(entered)), []
        except tomllib.TOMLDecodeError as error:
            raise FieldError(f'expected lines of "name" = value: {error}') from None
    return entered, []


def plain(problem: Mapping[str, typing.Any], field: FormField | None) -> str:
    """A pydantic objection in plain words, bounds shown as the field is typed (80%, not 0.8)."""
    context = problem.get("ctx") or {}
    share = field is not None and field.kind in (SHARE, SHARES)

    def bound(value: object) -> str:
        if share:
            return display.setting_share(value)  # type: ignore[arg-type]  # a share's bound is a number
        return f"{value:g}" if isinstance(value, int | float) else str(value)

    kind = problem["type"]
    said = {
        "greater_than_equal": lambda: f"must be at least {bound(context.get('ge'))}",
        "less_than_equal": lambda: f"must be at most {bound(context.get('le'))}",
        "greater_than": lambda: f"must be more than {bound(context.get('gt'))}",
        "less_than": lambda: f"must be less than {bound(context.get('lt'))}",
        "int_from_float": lambda: "must be a whole number",
        "int_parsing": lambda: "must be a whole number",
        "float_parsing": lambda: "must be a number",
        "decimal_parsing": lambda: "must be a number",
        "too_short": lambda: f"needs {context.get('min_length')} values",
        "too_long": lambda: f"takes {context.get('max_length')} values",
        "value_error": lambda: str(context.get("error") or problem["msg"]),
        "missing": lambda: "is missing",
        "extra_forbidden": lambda: "is not a setting",
    }.get(kind)
    words = said() if said else str(problem["msg"])
    inside = problem["loc"][2:3]
    if inside and field is not None and field.kind in (SHARES, NUMBERS) and isinstance(inside[0], int):
        return f"value {inside[0] + 1} {words}"
    if inside and field is not None and field.kind == TABLE:
        return f"{inside[0]}: {words}"
    return words


@dataclasses.dataclass
class Outcome:
    """What the form's entries make: the settings, or the problems by widget key (nothing applied)."""

    settings: Settings | None
    problems: dict[str, list[str]]
    read: list[str]


def _title(group: str) -> str:
    """A group's title ("Performance gate"), or its key when it has none."""
    return str(_model(group).model_config.get("title") or group) if group in Settings.model_fields else group


def group_key(group: str) -> str:
    """Where a problem with a whole group (not one field) is shown: under the group's title."""
    return f"s_{group}"


def check(settings: Settings, entered: Mapping[str, object]) -> Outcome:
    """The settings the form's entries make, checked by the model; the groups and fields the form did
    not show (entered has no key for them) keep the session's values."""
    by_key = {field.key: field for field in fields()}
    data = settings.model_dump(mode="json")
    problems: dict[str, list[str]] = {}
    read: list[str] = []
    for key, value in entered.items():
        field = by_key[key]
        try:
            typed, how = typed_value(field, value)
        except FieldError as error:
            problems.setdefault(key, []).append(f"{field.label}: {error}")
            continue
        data[field.group][field.name] = typed
        if value != shown_value(field, settings):
            read.extend(f"{field.label}: {line}" for line in how)
    if problems:
        return Outcome(None, problems, [])
    try:
        chosen = config.Settings.model_validate(data)
    except ValidationError as error:
        for problem in error.errors():
            group, name = [*problem["loc"], None, None][:2]
            concerned = by_key.get(f"s_{group}.{name}")
            key = (
                concerned.key if concerned is not None and concerned.key in entered else group_key(str(group))
            )
            label = concerned.label if concerned is not None else _title(str(group))
            problems.setdefault(key, []).append(f"{label}: {plain(problem, concerned)}")
        return Outcome(None, problems, [])
    return Outcome(chosen, {}, read)


# --- drawing ---------------------------------------------------------------------------------------


def _widget(field: FormField, settings: Settings) -> object:
    value = shown_value(field, settings)
    if field.kind in (SHARE, SHARES, NUMBERS, TEXT):
        return st.text_input(field.label, value=str(value), key=field.key, help=field.help)
    if field.kind == TABLE:
        return st.text_area(field.label, value=str(value), key=field.key, help=field.help, height=120)
    if field.kind == DATE:
        return st.date_input(
            field.label, value=typing.cast(dt.date, value), min_value=FIRST_DAY, max_value=LAST_DAY, key=field.key, help=field.help,
            format="YYYY-MM-DD",
        )  # fmt: skip
    if field.kind == CHOICE:
        # A choice among another setting's names (a preset) may be none; a fixed choice has its words.
        named = field.choice_labels or {}
        options = (
            ["", *getattr(getattr(settings, field.group), field.choices_from)]
            if field.choices_from
            else list(field.choices)
        )
        return st.selectbox(
            field.label, options, index=options.index(str(value)), key=field.key, help=field.help,
            format_func=lambda choice: named.get(choice, choice) or "none",
        )  # fmt: skip
    number = int if field.kind == INTEGER else float
    return st.number_input(
        field.label,
        value=number(typing.cast(float, value)),
        min_value=None if field.minimum is None else number(field.minimum),
        max_value=None if field.maximum is None else number(field.maximum),
        step=number(field.step or 1),
        key=field.key,
        help=field.help,
    )


def _group(
    group: str, settings: Settings, chosen: list[FormField], slots: dict[str, typing.Any]
) -> dict[str, object]:
    """One group's widgets, each with a slot below it for what is wrong with it."""
    entered: dict[str, object] = {}
    mine = [field for field in chosen if field.group == group]
    if not mine:
        return entered
    st.markdown(f"**{_title(group)}**")
    slots[group_key(group)] = st.empty()
    for field in mine:
        entered[field.key] = _widget(field, settings)
        slots[field.key] = st.empty()
    return entered


def visible(can_see_money: bool, can_save: bool) -> list[FormField]:
    """The settings this viewer may see on the form: finance ones only for those who may see money, and
    those naming a place on the server (a file, a web address) only for those who may save settings."""
    return [
        field for field in fields() if (can_see_money or not field.finance) and (can_save or not field.admin)
    ]


def draw(settings: Settings, chosen: list[FormField]) -> tuple[dict[str, object], dict[str, typing.Any]]:
    """The form's widgets (inside an st.form): what was entered by key, and a slot per key for problems."""
    entered: dict[str, object] = {}
    slots: dict[str, typing.Any] = {}
    placed = {group for column in COLUMNS for group in column}
    for column, groups in zip(st.columns(len(COLUMNS)), COLUMNS, strict=True):
        with column:
            for group in groups:
                entered |= _group(group, settings, chosen, slots)
    rest = [group for group in Settings.model_fields if group not in placed]
    with st.expander("More settings: ingest, network, forecast, alerts and more"):
        for group in rest:
            entered |= _group(group, settings, chosen, slots)
    return entered, slots


def show_problems(problems: Mapping[str, list[str]], slots: Mapping[str, typing.Any]) -> None:
    """Each problem in the slot beside its field (or under its group's title)."""
    for key, messages in problems.items():
        slots.get(key, st).error("\n\n".join(messages), icon=":material/error:")
