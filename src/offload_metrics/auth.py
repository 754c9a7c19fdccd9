"""Who is looking, and what they may see and do: sign-in (Streamlit's st.login) and roles.

Without an [auth] section in .streamlit/secrets.toml the dashboard serves one local user with every
capability. With it, everyone signs in, and the settings file's [roles] table gives each a role.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from offload_metrics import config, display

LOCAL_USER = "local user"


class Capability(Enum):
    """What a role may do beyond reading the leadership and program pages."""

    MONEY = "see dollar amounts, ROI and cost per task"
    LOAD = "load files"
    SAVE_SETTINGS = "save settings for everyone"
    CLEAR = "clear the database"


CAPABILITIES: dict[str, frozenset[Capability]] = {
    "executive": frozenset(),
    "program": frozenset(),
    "finance": frozenset({Capability.MONEY}),
    "admin": frozenset(Capability),
}


@dataclasses.dataclass(frozen=True)
class Viewer:
    """The person in this session: who (for the audit), their role, and what it allows."""

    name: str
    role: str | None
    capabilities: frozenset[Capability]
    signed_in: bool
    problem: str | None = None


LOCAL = Viewer(name=LOCAL_USER, role="admin", capabilities=CAPABILITIES["admin"], signed_in=False)


def sign_in_configured() -> bool:
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        return False


def _groups(claim: object) -> tuple[str, ...]:
    if isinstance(claim, str):
        return (claim,)
    if isinstance(claim, list | tuple):
        return tuple(str(item) for item in claim)
    return ()


def viewer() -> Viewer:
    """This session's viewer; without sign-in configured, the single local user."""
    if not sign_in_configured():
        return LOCAL
    user = st.user
    if not user.is_logged_in:
        return Viewer(name="", role=None, capabilities=frozenset(), signed_in=False)
    email = str(user.get("email") or "")
    name = email or str(user.get("sub") or user.get("name") or "")
    try:
        roles = config.load_roles()
    except config.SettingsError as error:  # no one gets a role from a file that cannot be read
        return Viewer(name=name, role=None, capabilities=frozenset(), signed_in=True, problem=str(error))
    role = roles.role_of(email, _groups(user.get(roles.groups_claim)))
    return Viewer(
        name=name, role=role, capabilities=CAPABILITIES.get(role or "", frozenset()), signed_in=True
    )


def can(capability: Capability) -> bool:
    return capability in viewer().capabilities


def can_see_money() -> bool:
    """Whether dollar amounts, ROI and cost per task may be shown: finance and admin only."""
    return can(Capability.MONEY)


# Finance figures whose names do not end in a money suffix (display.MONEY_SUFFIXES).
FINANCE_FIGURES = frozenset({"roi"})


def is_finance_figure(name: str) -> bool:
    """A dollar amount, ROI or cost per task: shown to finance and admin only (every page, every export)."""
    return display.is_money(name) or name in FINANCE_FIGURES


def without_money(result: object) -> object:
    """A metric's result with every finance figure taken out (frames' columns, mappings' keys)."""
    if isinstance(result, pd.DataFrame):
        return result.drop(columns=[column for column in result.columns if is_finance_figure(str(column))])
    if isinstance(result, dict):
        return {key: without_money(value) for key, value in result.items() if not is_finance_figure(str(key))}
    if isinstance(result, list):
        return [without_money(value) for value in result]
    return result


def require(capability: Capability) -> None:
    """Stop the page unless this viewer may do it, saying why."""
    if not can(capability):
        st.warning(f"Your role does not allow you to {capability.value}.", icon=":material/lock:")
        st.stop()


def gate() -> Viewer:
    """Sign-in in the sidebar; a viewer who is not signed in (or has no role) sees nothing else."""
    if not sign_in_configured():
        st.sidebar.caption(
            "Single local user: sign-in is not configured, so whoever opens this page can see and do "
            "everything. See the README before serving it to others."
        )
        return LOCAL
    current = viewer()
    if not current.signed_in:
        st.title("Offload metrics")
        st.info("Sign in to see the dashboard.", icon=":material/login:")
        if st.button("Sign in", key="sign_in", type="primary", icon=":material/login:"):
            st.login()
        st.stop()
    st.sidebar.caption(f"Signed in as {display.plain(current.name)} ({current.role or 'no role'}).")
    if st.sidebar.button("Sign out", key="sign_out", icon=":material/logout:"):
        st.logout()
    if current.role is None:
        st.title("Offload metrics")
        if current.problem:
            st.error(f"Roles cannot be given until the settings file is fixed. {current.problem}")
        else:
            st.warning(
                "You are signed in, but the settings file gives you no role. Ask an administrator to add you.",
                icon=":material/lock:",
            )
        st.stop()
    return current
