"""Adoption forecasts: a logistic S-curve per function, the months it crosses each bound, and scale.

Each function's monthly offloaded share (adoption.sql) from its first month with time-saved data
to the as_of month is fitted with share(t) = ceiling / (1 + exp(-rate x (t - midpoint))), the
ceiling at most 1, each month weighted by its binomial uncertainty over the function's routine
hours (scipy's curve_fit, covariance scaled by the residuals). The range of each projected month
comes from draws of the parameters from that covariance with a fixed seed. Where a forecast would
be noise (too few months, no growth, a fit that fails) there is none, and the reason says why.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import typing
import warnings

import duckdb
import numpy as np
import pandas as pd

from offload_metrics import metrics
from offload_metrics.config import Settings

# Why a function has no forecast; the words a page shows.
REASONS = {
    "no_baseline": "the function has no baseline, so it has no offloaded share",
    "too_few_months": "fewer than {min_months} months with time-saved data",
    "no_growth": "its share is not growing",
    "fit_failed": "no S-curve fits its months",
}
NEVER = math.inf


def reason_text(reason: str, settings: Settings) -> str:
    return REASONS[reason].format(min_months=settings.forecast.min_months)


@dataclasses.dataclass(frozen=True)
class Crossing:
    """When a function reaches a share: observed (already happened) or projected, with its range."""

    milestone: str
    share: float
    month: str | None
    low: str | None
    high: str | None
    observed: bool


@dataclasses.dataclass(frozen=True)
class FunctionForecast:
    function: str
    reason: str | None
    months_used: int
    ceiling: float | None = None
    rate: float | None = None
    midpoint: float | None = None
    midpoint_month: str | None = None
    crossings: tuple[Crossing, ...] = ()
    # Month offsets (from the first fitted month) of the scale crossing, per draw; for the organisation.
    scale_draws: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    # The first fitted month and the parameter draws, for the charts' band.
    start: int = 0
    draws: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def curve(self) -> tuple[float, float, float] | None:
        """The fitted curve's ceiling, rate and midpoint; None for a function without a forecast."""
        if self.ceiling is None or self.rate is None or self.midpoint is None:
            return None
        return self.ceiling, self.rate, self.midpoint


def milestones(settings: Settings) -> list[tuple[str, float]]:
    """(name, share) of every bound a forecast projects: the three phase bounds and the scale share."""
    low, crossing, saturation = settings.adoption.phase_bounds
    named = [
        ("crossing_point", low),
        ("acceleration", crossing),
        ("scale", settings.adoption.scale_share),
        ("saturation", saturation),
    ]
    return sorted(named, key=lambda item: item[1])


# A parameter of the curve: one fit's (a float) or one per bootstrap draw (an array).
Parameter = float | np.ndarray


def logistic(t: Parameter, ceiling: Parameter, rate: Parameter, midpoint: Parameter) -> np.ndarray:
    return ceiling / (1 + _growth(t, rate, midpoint))


def _growth(t: Parameter, rate: Parameter, midpoint: Parameter) -> np.ndarray:
    """exp(-rate x (t - midpoint)), kept finite: far from the midpoint the share is 0 or the ceiling anyway."""
    return np.exp(np.clip(-rate * (t - midpoint), -500, 500))


# The fit's bounds: ceiling in (0, 1], rate per month, midpoint in months from the first month.
BOUNDS = ((1e-6, 1e-4, -240.0), (1.0, 5.0, 480.0))


def crossing_time(share: float, ceiling: Parameter, rate: Parameter, midpoint: Parameter) -> np.ndarray:
    """The (fractional) month offset at which the curve reaches share; inf where it never does."""
    ceilings, rates, midpoints = (np.asarray(value, dtype=float) for value in (ceiling, rate, midpoint))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = midpoints - np.log(ceilings / share - 1) / rates
    return np.where((ceilings > share) & (rates > 0), t, NEVER)


def month_index(month: pd.Timestamp | str) -> int:
    stamp = pd.Timestamp(month)
    return stamp.year * 12 + stamp.month - 1


def month_text(index: float) -> str | None:
    if not math.isfinite(index):
        return None
    whole = int(index)
    return f"{whole // 12:04d}-{whole % 12 + 1:02d}"


def month_start(index: int) -> pd.Timestamp:
    """The first day of the month with this index (year x 12 + month - 1)."""
    return pd.Timestamp(year=index // 12, month=index % 12 + 1, day=1)


def _first_month_at(t: np.ndarray | float, start: int) -> np.ndarray:
    """The first whole month whose fitted share is at least the bound: ceil of the fractional offset."""
    return np.ceil(np.asarray(t, dtype=float) - 1e-9) + start


# Fits by their inputs: the report's forecast and the charts' projection fit the same series.
_FITS: dict[tuple, FunctionForecast] = {}
_FITS_KEPT = 128
_FITS_LOCK = threading.Lock()  # the dashboard's sessions run in threads


def fit_function(frame: pd.DataFrame, settings: Settings, as_of_month: int) -> FunctionForecast:
    """The forecast of one function from its rows of adoption() (months up to as_of)."""
    key = (
        tuple(frame["function"].astype(str)),
        tuple(frame["month"].map(month_index)),
        *(
            tuple(frame[column].astype(float).fillna(-1.0))
            for column in ("offloaded_share", "delegated_hours", "routine_hours")
        ),
        settings.forecast.model_dump_json(),
        tuple(milestones(settings)),
        as_of_month,
    )
    with _FITS_LOCK:
        found = _FITS.get(key)
    if found is None:
        found = _fit_function(frame, settings, as_of_month)
        with _FITS_LOCK:
            if len(_FITS) >= _FITS_KEPT:
                _FITS.pop(next(iter(_FITS)))
            _FITS[key] = found
    return found


def _fit_function(frame: pd.DataFrame, settings: Settings, as_of_month: int) -> FunctionForecast:
    name = str(frame["function"].iloc[0])
    rows = frame.sort_values("month")
    if rows["offloaded_share"].isna().all():
        return FunctionForecast(name, "no_baseline", 0)
    with_data = rows[rows["delegated_hours"] > 0]
    if len(with_data) < settings.forecast.min_months:
        return FunctionForecast(name, "too_few_months", len(with_data))
    rows = rows[rows["month"] >= with_data["month"].iloc[0]]
    start = month_index(rows["month"].iloc[0])
    t = np.array([month_index(month) - start for month in rows["month"]], dtype=float)
    share = rows["offloaded_share"].to_numpy(dtype=float)
    routine = rows["routine_hours"].to_numpy(dtype=float)
    used = len(with_data)
    if np.polyfit(t, share, 1)[0] <= 0 or share.max() <= share[0]:
        return FunctionForecast(name, "no_growth", used)
    # A share of hours behaves like a proportion of routine_hours trials; half an hour keeps the
    # months at 0 or 1 from getting infinite weight.
    smoothed = (share * routine + 0.5) / (routine + 1)
    sigma = np.sqrt(smoothed * (1 - smoothed) / routine)
    fitted = _fit(t, share, sigma, p0=(min(1.0, max(share.max() * 1.5, 0.05)), 0.3, float(t[-1])))
    if fitted is None:
        return FunctionForecast(name, "fit_failed", used)
    params = fitted
    ceiling, rate, midpoint = (float(value) for value in params)
    draws = _bootstrap(t, share, sigma, params, settings)
    draw_ceiling, draw_rate, draw_midpoint = draws[:, 0], draws[:, 1], draws[:, 2]
    tail = (1 - settings.forecast.interval) / 2
    horizon = as_of_month + settings.forecast.horizon_months
    observed_share = dict(zip(rows["month"].map(month_index), share, strict=True))
    crossings = []
    scale_draws = None
    for milestone, bound in milestones(settings):
        reached = [month for month, value in observed_share.items() if value >= bound - metrics.TOLERANCE]
        if reached:
            month = month_text(min(reached))
            crossings.append(Crossing(milestone, bound, month, month, month, True))
            if milestone == "scale":
                scale_draws = np.full(len(draws), float(min(reached)))
            continue
        point = float(_first_month_at(crossing_time(bound, ceiling, rate, midpoint), start))
        spread = _first_month_at(crossing_time(bound, draw_ceiling, draw_rate, draw_midpoint), start)
        # A crossing projected into the past is next month at the earliest: it has not happened yet.
        point, spread = max(point, as_of_month + 1), np.maximum(spread, as_of_month + 1)
        spread = np.where(spread > horizon, NEVER, spread)
        low, high = np.quantile(spread, [tail, 1 - tail], method="inverted_cdf")
        crossings.append(
            Crossing(
                milestone,
                bound,
                month_text(point if point <= horizon else NEVER),
                month_text(low),
                month_text(high),
                False,
            )
        )
        if milestone == "scale":
            scale_draws = spread
    return FunctionForecast(
        name,
        None,
        used,
        ceiling=ceiling,
        rate=rate,
        midpoint=midpoint,
        midpoint_month=month_text(start + round(midpoint)),
        crossings=tuple(crossings),
        scale_draws=scale_draws,
        start=start,
        draws=draws,
    )


def _fit(
    t: np.ndarray, share: np.ndarray, sigma: np.ndarray, p0: tuple[float, float, float]
) -> np.ndarray | None:
    """Weighted least squares of the logistic curve, ceiling in (0, 1]; None when it fails."""
    from scipy.optimize import curve_fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, covariance = curve_fit(
                logistic,
                t,
                share,
                p0=p0,
                sigma=sigma,
                bounds=BOUNDS,
                maxfev=5_000,
            )
    except (RuntimeError, ValueError):
        return None
    return params if np.all(np.isfinite(params)) and np.all(np.isfinite(covariance)) else None


def _bootstrap(
    t: np.ndarray, share: np.ndarray, sigma: np.ndarray, params: np.ndarray, settings: Settings
) -> np.ndarray:
    """Parameters refitted to the curve plus resampled weighted residuals (fixed seed), one row per
    draw. A refit that fails keeps the fit's own parameters, so every function has as many draws
    (the organisation's range pairs them up draw by draw)."""
    generator = np.random.default_rng(settings.forecast.seed)
    fitted = logistic(t, *params)
    residuals = (share - fitted) / sigma
    draws = []
    for _ in range(settings.forecast.draws):
        resampled = fitted + generator.choice(residuals, size=len(t), replace=True) * sigma
        refit = _refit(t, resampled, sigma, params)
        draws.append(params if refit is None else refit)
    return np.array(draws)


def _refit(t: np.ndarray, share: np.ndarray, sigma: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """The same weighted least squares as _fit, without the covariance and with the Jacobian written
    out: the bootstrap runs it many times."""
    from scipy.optimize import least_squares

    def residuals(params: np.ndarray) -> np.ndarray:
        return (logistic(t, *params) - share) / sigma

    def jacobian(params: np.ndarray) -> np.ndarray:
        ceiling, rate, midpoint = params
        growth = _growth(t, rate, midpoint)
        denominator = (1 + growth) ** 2
        columns = (
            1 / (1 + growth),
            ceiling * (t - midpoint) * growth / denominator,
            -ceiling * rate * growth / denominator,
        )
        return np.column_stack(columns) / sigma[:, None]

    try:
        result = least_squares(
            residuals,
            np.clip(start, BOUNDS[0], BOUNDS[1]),
            jac=jacobian,
            bounds=BOUNDS,
            method="trf",
            max_nfev=200,
        )
    except (ValueError, np.linalg.LinAlgError):
        return None
    return result.x if result.success and np.all(np.isfinite(result.x)) else None


def forecast(adoption: pd.DataFrame, program: dict[str, object], settings: Settings) -> dict[str, object]:
    """Every function's forecast and the organisation's projected first month at scale.

    adoption is adoption()'s frame (every month of history up to as_of), program that of program().
    """
    as_of_month = month_index(adoption["month"].max()) if not adoption.empty else 0
    fits = [fit_function(rows, settings, as_of_month) for _, rows in adoption.groupby("function", sort=True)]
    scale = settings.adoption.scale_share - metrics.TOLERANCE
    at_scale = adoption[adoption["offloaded_share"] >= scale]
    reached = {
        str(function): month_index(month)
        for function, month in at_scale.groupby("function")["month"].min().items()
    }
    return {
        "org": _organisation(fits, program, settings, reached),
        "functions": [_function_row(fit) for fit in fits],
    }


def forecast_summary(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> dict[str, typing.Any]:
    """The adoption forecast of every function and the organisation, from the data."""
    filters = filters.resolve(conn)
    adoption = metrics.adoption(conn, filters, settings)
    return forecast(adoption, metrics.program(conn, filters, settings), settings)


def forecast_projection(
    conn: duckdb.DuckDBPyConnection, filters: metrics.Filters, settings: Settings
) -> pd.DataFrame:
    """Per function and month after as_of: the fitted share and its range, for the charts."""
    return projection(metrics.adoption(conn, filters, settings), settings)


def _function_row(fit: FunctionForecast) -> dict[str, object]:
    return {
        "function": fit.function,
        "has_forecast": fit.reason is None,
        "reason": fit.reason,
        "months_used": fit.months_used,
        "ceiling": fit.ceiling,
        "growth_rate": fit.rate,
        "midpoint_month": fit.midpoint_month,
        "crossings": [dataclasses.asdict(crossing) for crossing in fit.crossings],
    }


def _organisation(
    fits: list[FunctionForecast], program: dict[str, object], settings: Settings, reached: dict[str, int]
):
    """The first month at least scale_min_functions functions are at scale: observed, else projected,
    as the k-th earliest of the functions' scale months. A function without a forecast (its share
    flat, say) that has been at scale counts with the month it first was (`reached`)."""
    needed = settings.adoption.scale_min_functions
    first_deployment = program.get("first_deployment_month")
    result: dict[str, object] = {
        "status": "none",
        "reason": None,
        "first_scale_month": None,
        "first_scale_month_low": None,
        "first_scale_month_high": None,
        "time_to_scale_months": None,
        "time_to_scale_months_low": None,
        "time_to_scale_months_high": None,
        "trajectory": None,
        "last_function": None,
        "last_function_month": None,
        "not_projected_functions": [],
    }
    observed = program.get("first_scale_month")
    if observed is not None:
        month = month_text(month_index(observed))
        result.update(
            status="observed",
            first_scale_month=month,
            first_scale_month_low=month,
            first_scale_month_high=month,
        )
    candidates = [fit for fit in fits if fit.scale_draws is not None]
    already = [reached[fit.function] for fit in fits if fit.scale_draws is None and fit.function in reached]
    if observed is None:
        if len(candidates) + len(already) < needed:
            result["reason"] = f"fewer than {needed} functions have a forecast"
        else:
            point = np.sort([*(_scale_point(fit) for fit in candidates), *already])[needed - 1]
            rows = [fit.scale_draws for fit in candidates if fit.scale_draws is not None]
            rows += [np.full(len(rows[0]) if rows else 1, float(month)) for month in already]
            draws = np.sort(np.vstack(rows), axis=0)[needed - 1]
            tail = (1 - settings.forecast.interval) / 2
            low, high = np.quantile(draws, [tail, 1 - tail], method="inverted_cdf")
            if not math.isfinite(point):
                result["reason"] = (
                    f"fewer than {needed} functions are projected to reach the scale share within "
                    f"{settings.forecast.horizon_months} months"
                )
            result.update(
                status="projected" if math.isfinite(point) else "none",
                first_scale_month=month_text(point),
                first_scale_month_low=month_text(low),
                first_scale_month_high=month_text(high),
            )
    if first_deployment is not None:
        start = month_index(first_deployment)
        for key in ("", "_low", "_high"):
            milestone = result[f"first_scale_month{key}"]
            if isinstance(milestone, str):
                result[f"time_to_scale_months{key}"] = month_index(milestone) - start
        span = result["time_to_scale_months"]
        if isinstance(span, int):
            soonest, latest = settings.adoption.scale_months
            result["trajectory"] = "fast" if span < soonest else "slow" if span > latest else "on_track"
    if candidates:
        last = max(candidates, key=lambda fit: (_scale_point(fit), fit.function))
        result["last_function"] = last.function
        result["last_function_month"] = month_text(_scale_point(last))
        # Functions with a forecast that never reaches scale within the horizon: none of them is "last"
        # (the name broke the tie), so they are listed.
        result["not_projected_functions"] = sorted(
            fit.function for fit in candidates if not math.isfinite(_scale_point(fit))
        )
    return result


def without_forecast(summary: typing.Mapping[str, typing.Any]) -> list[str]:
    """The functions of a forecast_summary with no forecast yet: too few months of data to fit. While
    any has none, the function "projected to reach scale last" is only the last of those with one and
    is not named as the last of all (early on it named the leading function, the only one with a
    forecast), and the organisation is not projected. A function without a baseline, or whose share
    does not grow, will not get one by waiting: it is held at its share, as before."""
    return [row["function"] for row in summary.get("functions", []) if row.get("reason") == "too_few_months"]


def scale_seen(summary: typing.Mapping[str, typing.Any], function: str) -> bool:
    """Whether a function's scale crossing in a forecast_summary is observed, not projected: its
    month is then the month it reached scale, not a projection."""
    row = next((row for row in summary.get("functions", []) if row["function"] == function), None)
    crossings = (row or {}).get("crossings") or []
    return any(crossing["milestone"] == "scale" and crossing.get("observed") for crossing in crossings)


def _scale_point(fit: FunctionForecast) -> float:
    crossing = next(crossing for crossing in fit.crossings if crossing.milestone == "scale")
    return month_index(crossing.month) if crossing.month else NEVER


def projection(
    adoption: pd.DataFrame, settings: Settings, functions: list[str] | None = None
) -> pd.DataFrame:
    """The fitted curve per function for the months after as_of, with its range: what charts draw.

    Columns: function, month (a Timestamp), share, share_low, share_high.
    """
    if adoption.empty:
        return pd.DataFrame(columns=["function", "month", "share", "share_low", "share_high"])
    as_of_month = month_index(adoption["month"].max())
    tail = (1 - settings.forecast.interval) / 2
    frames = []
    for name, rows in adoption.groupby("function", sort=True):
        if functions is not None and name not in functions:
            continue
        curve = _curve(rows, settings, as_of_month, tail)
        if curve is not None:
            frames.append(curve)
    if not frames:
        return pd.DataFrame(columns=["function", "month", "share", "share_low", "share_high"])
    return pd.concat(frames, ignore_index=True)


def _curve(rows: pd.DataFrame, settings: Settings, as_of_month: int, tail: float) -> pd.DataFrame | None:
    fit = fit_function(rows, settings, as_of_month)
    curve = fit.curve
    if fit.reason is not None or fit.draws is None or curve is None:
        return None
    months = np.arange(as_of_month, as_of_month + settings.forecast.chart_months + 1)
    t = (months - fit.start).astype(float)
    point = logistic(t, *curve)
    draws = fit.draws
    spread = logistic(t[None, :], draws[:, :1], draws[:, 1:2], draws[:, 2:3])
    low, high = np.quantile(spread, [tail, 1 - tail], axis=0)
    return pd.DataFrame(
        {
            "function": fit.function,
            "month": [month_start(int(month)) for month in months],
            "share": np.clip(point, 0, 1),
            "share_low": np.clip(low, 0, 1),
            "share_high": np.clip(high, 0, 1),
        }
    )


def backtest(
    conn: duckdb.DuckDBPyConnection, settings: Settings, holdout_months: int = 6
) -> list[dict[str, object]]:
    """Fit on all but the last holdout_months months up to as_of; compare each crossing projected
    then with the month it happened (error = projected - actual, in months), for the crossings
    that happened by as_of."""
    full = metrics.Filters().resolve(conn)
    as_of_month = month_index(full.as_of)
    cutoff = month_index(full.as_of) - holdout_months
    earlier = metrics.month_end(month_start(cutoff).date())
    past = metrics.adoption(conn, metrics.Filters(as_of=earlier), settings)
    actual = metrics.adoption(conn, metrics.Filters(as_of=full.as_of), settings)
    rows = []
    for name, history in past.groupby("function", sort=True):
        fit = fit_function(history, settings, cutoff)
        happened = actual[actual["function"] == name]
        for crossing in fit.crossings:
            if crossing.observed:
                continue
            reached = happened[happened["offloaded_share"] >= crossing.share - metrics.TOLERANCE]
            if reached.empty or month_index(reached["month"].min()) > as_of_month:
                continue
            month = month_index(reached["month"].min())
            projected = month_index(crossing.month) if crossing.month else None
            rows.append(
                {
                    "function": name,
                    "milestone": crossing.milestone,
                    "projected": crossing.month,
                    "low": crossing.low,
                    "high": crossing.high,
                    "actual": month_text(month),
                    "error_months": None if projected is None else projected - month,
                    "in_range": crossing.low is not None
                    and month_index(crossing.low) <= month
                    and (crossing.high is None or month <= month_index(crossing.high)),
                }
            )
    return rows


def organisation_projection(projection: pd.DataFrame, adoption: pd.DataFrame) -> pd.DataFrame:
    """The organisation's projected share: the functions' projections weighted by their routine
    hours (as adoption_org sums them); a function without a forecast stays at its as_of share.
    The functions' ranges add up as if they moved together: the cautious, wider range."""
    columns = ["month", "share", "share_low", "share_high"]
    if projection.empty:
        return pd.DataFrame(columns=columns)
    with_baseline = adoption.dropna(subset=["routine_hours"]).sort_values("month")
    latest = with_baseline.groupby("function").last()
    flat = [
        pd.DataFrame({"function": name, "month": month, "share": row["offloaded_share"],
                      "share_low": row["offloaded_share"], "share_high": row["offloaded_share"]})
        for name, row in latest.iterrows()
        if name not in set(projection["function"])
        for month in [projection["month"].drop_duplicates()]
    ]  # fmt: skip
    weighted = pd.concat([projection, *flat], ignore_index=True).join(latest["routine_hours"], on="function")
    for column in columns[1:]:
        weighted[column] = weighted[column] * weighted["routine_hours"]
    sums = weighted.groupby("month", as_index=False)[[*columns[1:], "routine_hours"]].sum()
    for column in columns[1:]:
        sums[column] = sums[column] / sums["routine_hours"]
    return sums[columns]


def table(summary: dict[str, object], settings: Settings) -> pd.DataFrame:
    """forecast()'s functions as one row each: the fit, each milestone's month with its range (or
    "observed"), and why a function has no forecast."""
    rows = []
    # summary is forecast()'s JSON-shaped result: "functions" holds one dict per function.
    for item in typing.cast("list[dict[str, typing.Any]]", summary["functions"]):
        row = {
            "function": item["function"],
            "forecast": "yes" if item["has_forecast"] else f"no: {reason_text(item['reason'], settings)}",
            "ceiling": item["ceiling"],
            "midpoint_month": item["midpoint_month"],
        }
        for crossing in item["crossings"]:
            row[crossing["milestone"]] = describe_crossing(crossing)
        rows.append(row)
    names = [name for name, _ in milestones(settings)]
    return pd.DataFrame(rows, columns=["function", "forecast", "ceiling", "midpoint_month", *names])


# A milestone the fitted curve does not reach within the horizon, as the projected crossings say it.
NOT_IN_SIGHT = "not in sight"


def describe_crossing(crossing: dict[str, object]) -> str:
    """ "2025-03 (observed)", "2026-01 (2025-11 – 2026-04)", or why there is no month."""
    if crossing["observed"]:
        return f"{crossing['month']} (observed)"
    if crossing["month"] is None:
        # The fit never reaches the bound in sight, though the range's earliest draws do, from that month on.
        return (
            NOT_IN_SIGHT
            if crossing["low"] is None
            else f"{NOT_IN_SIGHT}; its range reaches it from {crossing['low']}"
        )
    high = crossing["high"] or "later"
    return f"{crossing['month']} ({crossing['low']} – {high})"
