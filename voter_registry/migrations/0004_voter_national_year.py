"""Voter search: country-wide name indexes led by the birth year.

`ix_voter_national_birth` and `ix_voter_national_usage`: (birth year, name key), covering every
other filter of a search (given names, birth month and day, particle flags, commune,
department, id). A search of the whole country with a birth year — a voter registered
elsewhere, the tablets' usual « nom prénom année » — reads only that year's entries of the
name range, where the department-led indexes (0002) read the name range of every department
with the given names and the year as filters: « MARTIN Patrick 1958 » on the 10 M-voter bench
read ≈ 30,000 index entries (37 ms of PostgreSQL CPU), now ≈ 1,400 (1 ms).

Build cost: on the 10 M-voter bench registry ≈ 53 + 15 s (2 shared cores), 720 + 170 MB; on a
national list (48 M) about five times that. Run before polling day (the table is locked against
writes while they build). They are also maintained by every import (two more indexes on `voter`).

Revision ID: 0004_voter_national_year
Revises: 0003_voter_area_covering
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_voter_national_year"
down_revision: str | Sequence[str] | None = "0003_voter_area_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INCLUDE = ["given_key", "birth_month", "birth_day", "name_flags", "commune_code", "department_code", "id"]
USED = sa.text("usage_key <> ''")


def upgrade() -> None:
    op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    op.create_index("ix_voter_national_birth", "voter", ["birth_year", "birth_key"], postgresql_include=INCLUDE)
    op.create_index(
        "ix_voter_national_usage", "voter", ["birth_year", "usage_key"], postgresql_where=USED, postgresql_include=INCLUDE
    )


def downgrade() -> None:
    op.drop_index("ix_voter_national_usage", table_name="voter", postgresql_where=USED)
    op.drop_index("ix_voter_national_birth", table_name="voter")
