"""Microsoft Viva Insights group-to-group exports, loaded as they come.

The export names its columns after the organisational attribute the analyst grouped by
(`PrimaryCollaborator_Organization`) and its metrics with spaces (`Group collaboration time
invested`); the vivainsights R and Python packages rename the metrics with underscores. Both read
as the contract names of schema.VivaCollaboration, and the file then goes through the same load
as every kind (rejects, duplicates and conflicts, idempotence, one transaction). Each group value
goes through the organisation mapping (source `viva.<attribute>`); a row whose group no rule maps
is rejected with the value named. What each group mapped to is kept per load in `viva_groups`, so
a later mapping never rewrites rows already loaded; loading the file again under another mapping
loads the rows that now map, and nothing twice (the rows already loaded are duplicates).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import duckdb

from offload_metrics import config, schema
from offload_metrics.mapping import Mapping

if TYPE_CHECKING:  # the ingest package imports this module
    from offload_metrics.ingest.sniff import Header
    from offload_metrics.ingest.sources import Source

KIND = schema.VivaCollaboration.kind
SOURCE_PREFIX = "viva."
WITHIN_GROUP = "Within Group"
UNCLASSIFIED = "Unclassified Collaborators"
GROUP_COLUMN = re.compile(r"^(Primary|Secondary)Collaborator_(.+)$")
# Export column names, with spaces or underscores and in any case, to contract names.
ALIASES = {
    "metricdate": "metric_date",
    "metric_date": "metric_date",
    "primarycollaborator_groupsize": "primary_group_size",
    "secondarycollaborator_groupsize": "secondary_group_size",
    "percent_group_collaboration_time_invested": "collaboration_share",
    "group_collaboration_time_invested": "collaboration_hours",
    "group_email_sent_count": "email_count",
    "group_email_time_invested": "email_hours",
    "group_meeting_count": "meeting_count",
    "group_meeting_time_invested": "meeting_hours",
}
SCAN_REJECTS = "offload_viva_scan"


class VivaError(ValueError):
    """A file that looks like a Viva export but cannot be read as one."""


def _normal(name: str) -> str:
    """A column name without case, spaces or punctuation: `% Group meeting count` and
    `Percent_Group_meeting_count` read the same."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().replace("%", " percent ").lower()).strip("_")


@dataclasses.dataclass(frozen=True)
class VivaImport:
    """One Viva export being loaded: its header in contract names, its attribute, the mapping."""

    names: tuple[str, ...]
    attribute: str
    mapping: Mapping

    @property
    def source(self) -> str:
        return SOURCE_PREFIX + self.attribute

    def ingest_settings(self, settings: config.Settings) -> str:
        """What, besides the file, decides the rows a load keeps (recorded with the load): the
        ingest settings and the mapping. The same file under another mapping is not "already loaded"."""
        return settings.ingest.fingerprint(mapping_sha256=self.mapping.fingerprint)

    def prepare(
        self,
        cur: duckdb.DuckDBPyConnection,
        source_sql: Callable[[Header, Sequence[schema.Column], str], Source],
        header: Header,
        params: dict[str, object],
    ) -> None:
        """Before the staging pass: map every group value of the file, and fill the lookup tables the
        contract's checks read (`_viva_teams`, `_viva_collaborators`)."""
        source = source_sql(header, schema.columns(schema.VivaCollaboration), SCAN_REJECTS)
        primary = source.columns["primary_collaborator"]
        secondary = source.columns["secondary_collaborator"]
        scan = {key: params[key] for key in ("path", "compression", "delimiter")}
        try:
            cur.execute(
                f"""
                create or replace temp table _viva_values as
                select row_number() over (order by value) as row_id, value
                from (
                    select {primary} as value from {source.reader}
                    union
                    select {secondary} from {source.reader}
                )
                where value is not null
                """,
                scan,
            )
        finally:
            for suffix in ("errors", "scans"):
                cur.execute(f"drop table if exists {SCAN_REJECTS}_{suffix}")
        self.mapping.register(cur, sources=[self.source])
        cur.execute(
            "create or replace temp table _viva_candidates as select row_id, ?::VARCHAR as source, value "
            "from _viva_values",
            [self.source],
        )
        cur.execute(
            f"""
            create or replace temp table _viva_teams as
            select v.value, m.function, m.business_unit, m.team
            from ({self.mapping.match_sql("_viva_values", "_viva_candidates")}) as m
            join _viva_values as v using (row_id)
            where m.rule_no is not null
            """
        )
        cur.execute(
            "create or replace temp table _viva_collaborators as "
            "select value from _viva_teams union all select unnest([?, ?])",
            [WITHIN_GROUP, UNCLASSIFIED],
        )

    def finish(self, cur: duckdb.DuckDBPyConnection, load_id: int) -> None:
        """After the rows are classified: keep what each group of this load mapped to."""
        cur.execute(
            "insert into viva_groups (load_id, source, value, function, business_unit, team) "
            "select ?, ?, value, function, business_unit, team from _viva_teams",
            [load_id, self.source],
        )
        for table in ("_viva_values", "_viva_candidates", "_viva_teams", "_viva_collaborators"):
            cur.execute(f"drop table if exists {table}")


def recognise(header: Header, kind: str | None, mapping: Mapping) -> VivaImport | None:
    """The Viva import of a file whose header has PrimaryCollaborator_<attribute>, else None."""
    groups = [GROUP_COLUMN.match(name) for name in header.names]
    attributes = {
        match.group(1): match.group(2) for match in groups if match and _normal(match.group(2)) != "groupsize"
    }
    if "Primary" not in attributes or kind not in (None, KIND):
        return None
    if header.file_format != "csv":
        raise VivaError("a Viva Insights export is read as CSV, the format Viva Insights writes")
    named = [match.group(2) for match in groups if match and match.group(1) == "Primary"]
    named = [name for name in named if _normal(name) != "groupsize"]
    if len(named) > 1:
        raise VivaError(
            f"groups by more than one attribute ({', '.join(named)}); export one attribute per file"
        )
    attribute = attributes["Primary"]
    if attributes.get("Secondary", attribute) != attribute:
        raise VivaError(
            f"PrimaryCollaborator_{attribute} and SecondaryCollaborator_{attributes['Secondary']} "
            "name different attributes"
        )
    names = []
    for name, match in zip(header.names, groups, strict=True):
        if match and _normal(match.group(2)) != "groupsize":
            names.append(f"{match.group(1).lower()}_collaborator")
        else:
            names.append(ALIASES.get(_normal(name), name))
    return VivaImport(tuple(names), attribute, mapping)
