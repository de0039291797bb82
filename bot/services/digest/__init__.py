"""The team lead's digest and reports: figures computed from the tables, and its settings.

Where things live:
- `model`: the dataclasses a digest is made of (`Period`, `RepActivity`, `Item`, `Listing`, `Digest`);
- `figures`: activity per member, the pipeline, objections and closings, care messages;
- `lists`: overdue follow-ups, late complaints, customers at risk, quiet A customers, who is behind;
- `views`: the whole digest (`build`) and the pages a reader opens, behind `team_view`'s check;
- `settings`: the digest's hour, on/off and group, the grade cut-offs, churn factor, currency;
- `outbox`: planning the daily digests in the outbox, and what a planned row sends;
- `reports`: the report's CSV tables.

What the figures mean (loyalty, churn risk, contact rhythm) is decided in
`bot.domain.analytics`; the loyalty and insight queries a card also uses are in
`bot.services.analytics`. This package re-exports what its callers use.
"""

from bot.services.digest.figures import (
    activity,
    best_methods,
    care_counts,
    closings,
    daily_activity,
    members,
    objections,
    pipeline,
    rep_day,
)
from bot.services.digest.lists import at_risk, behind_by_owner, complaints, overdue, overdue_by_owner, quiet_a
from bot.services.digest.model import (
    CHART_DAYS,
    CONTACT_KINDS,
    DIGEST,
    INTERNAL_OCCASIONS,
    LIST_MAX,
    NOTE_KINDS,
    PAGE,
    STAGES,
    Digest,
    Item,
    Listing,
    Objection,
    Period,
    RepActivity,
    period_for,
)
from bot.services.digest.outbox import LATEST_AFTER, PlannedDigest, plan_rows, planned_digest
from bot.services.digest.reports import Export, report_export, report_tables
from bot.services.digest.settings import (
    A_SHARES,
    AB_SHARES,
    CHURN_FACTORS,
    DEFAULT_HOUR,
    HOURS,
    AnalyticsRules,
    Prefs,
    SettingsView,
    analytics_rules,
    prefs,
    set_group,
    set_hour,
    set_off,
    set_rule,
    settings_view,
)
from bot.services.digest.views import (
    LISTS,
    ListPage,
    RepDay,
    TeamView,
    build,
    check_team,
    lead_zone,
    list_page,
    reader_digest,
    reader_view,
    rep_day_page,
    team_digest,
    team_members,
    team_view,
)

__all__ = [
    "AB_SHARES",
    "A_SHARES",
    "CHART_DAYS",
    "CHURN_FACTORS",
    "CONTACT_KINDS",
    "DEFAULT_HOUR",
    "DIGEST",
    "HOURS",
    "INTERNAL_OCCASIONS",
    "LATEST_AFTER",
    "LISTS",
    "LIST_MAX",
    "NOTE_KINDS",
    "PAGE",
    "STAGES",
    "AnalyticsRules",
    "Digest",
    "Export",
    "Item",
    "ListPage",
    "Listing",
    "Objection",
    "Period",
    "PlannedDigest",
    "Prefs",
    "RepActivity",
    "RepDay",
    "SettingsView",
    "TeamView",
    "activity",
    "analytics_rules",
    "at_risk",
    "behind_by_owner",
    "best_methods",
    "build",
    "care_counts",
    "check_team",
    "closings",
    "complaints",
    "daily_activity",
    "lead_zone",
    "list_page",
    "members",
    "objections",
    "overdue",
    "overdue_by_owner",
    "period_for",
    "pipeline",
    "plan_rows",
    "planned_digest",
    "prefs",
    "quiet_a",
    "reader_digest",
    "reader_view",
    "rep_day",
    "rep_day_page",
    "report_export",
    "report_tables",
    "set_group",
    "set_hour",
    "set_off",
    "set_rule",
    "settings_view",
    "team_digest",
    "team_members",
    "team_view",
]
