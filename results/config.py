"""Settings of results night (environment variables prefixed ``PRIMAIRES_RESULTS_``).

- ``CHECKIN_TOLERANCE_VOTERS`` / ``CHECKIN_TOLERANCE_PER_MILLE``: how far the signatures of a
  report (émargements) may be from the check-ins recorded for the station (tablet + paper late
  entries) before the gap is flagged: the larger of the two (defaults: 2 voters or 1 %);
- ``CONTRIBUTION_PLAUSIBLE_MAX_CENTS``: average contribution per voter above which a report's
  contributions are flagged as implausible (default 20 €);
- ``CONFIRMATION_MINUTES``: how long an SMS read-back code may be confirmed (default 30).
"""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ResultsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRIMAIRES_RESULTS_", extra="ignore")

    checkin_tolerance_voters: int = 2
    checkin_tolerance_per_mille: int = 10
    contribution_plausible_max_cents: int = 2000
    confirmation_minutes: int = 30


@cache
def results_settings() -> ResultsSettings:
    return ResultsSettings()
