"""Database roles: migrations run as the schema owner, the application as a restricted role.

Two roles, so that a bug or an intrusion in the application cannot rewrite history:

- the **owner** (the user of `PRIMAIRES_MIGRATION_DATABASE_URL`, or of `DATABASE_URL` when the
  former is unset) creates and alters the tables: only `primaires db upgrade` uses it;
- the **application** logs in as a member of the group role `primaires_app` (the user of
  `DATABASE_URL`; `primaires_web` in the embedded database). The group may read and write
  election tables, but on the log's tables — those protected by the append-only trigger — it
  may only SELECT and INSERT. It cannot alter tables, disable triggers or touch
  `alembic_version`.

The append-only trigger (`primaires_reject_change`) is the second barrier: it refuses UPDATE,
DELETE and TRUNCATE to every role, the owner included, so even a migration cannot quietly edit
the log. The privileges below are re-applied at the end of every upgrade, inside its
transaction, so a table added by any package's migration gets them at once; a table is
append-only exactly when it carries that trigger, so no list has to be kept in sync.

Deployment recipes (docker-compose, embedded demo) are in README.md ("Rôles de la base").
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger("alembic.runtime.migration")

APP_ROLE = "primaires_app"
APPEND_ONLY_FUNCTION = "primaires_reject_change"

APPEND_ONLY_TABLES = f"""
SELECT DISTINCT c.relname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE p.proname = '{APPEND_ONLY_FUNCTION}' AND n.nspname = current_schema()
ORDER BY c.relname
"""


def ensure_app_role(connection: Connection) -> bool:
    """Create the group role if needed; False when it is missing and cannot be created."""
    if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": APP_ROLE}):
        return True
    savepoint = connection.begin_nested()
    try:
        connection.execute(text(f"CREATE ROLE {APP_ROLE} NOLOGIN"))
    except DBAPIError:
        savepoint.rollback()
        logger.warning(
            "Rôle %s absent et non créable par ce compte : créez-le (CREATE ROLE %s NOLOGIN) puis "
            "relancez les migrations ; en attendant, aucun droit restreint n'est appliqué.",
            APP_ROLE,
            APP_ROLE,
        )
        return False
    savepoint.commit()
    return True


def append_only_tables(connection: Connection) -> list[str]:
    return list(connection.scalars(text(APPEND_ONLY_TABLES)))


def apply_application_privileges(connection: Connection) -> None:
    """Grant the application role what it needs, and nothing on the log beyond SELECT/INSERT."""
    if not ensure_app_role(connection):
        return
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
    connection.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"))
    connection.execute(text(f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}"))
    for table in append_only_tables(connection):
        connection.execute(text(f'REVOKE UPDATE, DELETE ON "{table}" FROM {APP_ROLE}, PUBLIC'))
    connection.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}"))
