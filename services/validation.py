"""French messages for request validation errors (FastAPI/Pydantic speak English)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_MESSAGES = {
    "missing": "obligatoire",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "string_pattern_mismatch": "format incorrect",
    "string_type": "doit être un texte",
    "int_parsing": "doit être un nombre entier",
    "int_type": "doit être un nombre entier",
    "int_from_float": "doit être un nombre entier",
    "float_parsing": "doit être un nombre",
    "bool_parsing": "doit être vrai ou faux",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ)",
    "date_parsing": "date invalide (AAAA-MM-JJ)",
    "date_from_datetime_inexact": "date invalide (AAAA-MM-JJ)",
    "time_parsing": "heure invalide (HH:MM)",
    "enum": "valeur non reconnue",
    "literal_error": "valeur non reconnue",
    "list_type": "doit être une liste",
    "too_short": "trop peu d'éléments",
    "too_long": "trop d'éléments",
    "json_invalid": "JSON invalide",
    "model_attributes_type": "doit être un objet JSON",
    "dict_type": "doit être un objet JSON",
    "extra_forbidden": "champ non attendu",
    "value_error": "valeur invalide",
}


def _describe(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "greater_than_equal":
        return f"doit valoir au moins {context.get('ge')}"
    if kind == "less_than_equal":
        return f"doit valoir au plus {context.get('le')}"
    if kind == "greater_than":
        return f"doit être supérieur à {context.get('gt')}"
    if kind == "less_than":
        return f"doit être inférieur à {context.get('lt')}"
    if kind == "enum" and context.get("expected"):
        return f"valeur non reconnue (attendu : {context['expected']})"
    if kind == "value_error" and context.get("error"):
        # Raised by the project's own validators, whose messages are written in French.
        return str(context["error"])
    return _MESSAGES.get(kind, "valeur invalide")


def french_validation_errors(errors: Sequence[Any]) -> list[str]:
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "form")]
        field = ".".join(location) or "requête"
        problems.append(f"« {field} » : {_describe(error)}")
    return problems or ["requête invalide"]
