"""The rehearsal's report: one JSON document and one self-contained HTML page (inline SVG)."""

from __future__ import annotations

import html
import json
import statistics
from pathlib import Path
from typing import Any

from rehearsal.checks import Outcome
from rehearsal.day import DAY_SECONDS, FIRST_HOUR, Driver


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def build(driver: Driver, outcome: Outcome, *, settings: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    metrics, ledger, plan = driver.metrics, driver.ledger, driver.plan
    endpoints = {
        name: {
            "requests": len(values),
            "p50_ms": round(percentile(values, 0.5) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
            "mean_ms": round(statistics.fmean(values) * 1000, 1),
        }
        for name, values in sorted(metrics.latencies.items())
    }
    day_seconds = metrics.phases.get("journée (émargements)", 0.0)
    night_seconds = metrics.phases.get("nuit des résultats", 0.0)
    checkins = sum(ledger.checkins.values())
    not_reported = [
        {"station": s.code, "department": s.department, "channel": s.results_via}
        for s in plan.stations
        if s.code not in ledger.reports
    ]
    not_validated = sorted(code for code in ledger.reports if code not in ledger.validated)
    return {
        "ok": outcome.ok and not not_reported and not not_validated,
        "stations_not_validated": not_validated,
        "settings": settings,
        "election": {"slug": plan.slug, "departments": plan.departments, "stations": len(plan.stations), "voters_on_lists": plan.voters_on_lists},
        "timings_seconds": {**{k: round(v, 2) for k, v in timings.items()}, **{k: round(v, 2) for k, v in metrics.phases.items()}},
        "throughput": {
            "checkins": checkins,
            "checkins_per_second": round(checkins / day_seconds, 1) if day_seconds else None,
            "reports": len(ledger.reports),
            "reports_per_second": round(len(ledger.reports) / night_seconds, 2) if night_seconds else None,
            "requests": sum(len(v) for v in metrics.latencies.values()),
            "floor_healthz_per_second": round(metrics.floor_per_second, 1) if metrics.floor_per_second else None,
            "ratio_checkins_to_floor": (
                round(checkins / day_seconds / metrics.floor_per_second, 3) if metrics.floor_per_second and day_seconds else None
            ),
        },
        "channels": {
            "opened_by_sms": sum(1 for s in plan.stations if s.open_via == "sms" and s.code in ledger.opened),
            "opened_by_tablet": sum(1 for s in plan.stations if s.open_via == "tablet" and s.code in ledger.opened),
            "turnout_sms": ledger.turnout_sms,
            **{
                f"results_{channel}": sum(1 for s in plan.stations if s.results_via == channel and s.code in ledger.reports)
                for channel in ("sms", "phone", "tablet", "paper")
            },
            "validated": len(ledger.validated),
        },
        "latency": endpoints,
        "errors": dict(metrics.errors),
        "error_samples": metrics.error_samples,
        "retries": metrics.retries,
        "refused_checkins": ledger.refused_checkins,
        "faults": dict(metrics.faults),
        "fault_events": metrics.fault_events,
        "stations_not_reported": not_reported,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in outcome.checks],
        "log": {"events": outcome.log_events, "checkpoints": outcome.log_checkpoints, "root": outcome.log_root, "verify_seconds": round(outcome.verify_seconds, 2)},
        "published_nation": outcome.published_nation,
        "timeline": timeline(metrics.checkins_timeline),
        "timeline_real_5s": real_timeline(metrics.checkins_real),
    }


def real_timeline(instants: list[float], bucket: float = 5.0) -> list[float]:
    """Acknowledged check-ins per second, averaged over buckets of real time."""
    if not instants:
        return []
    counts = [0] * (int(max(instants) // bucket) + 1)
    for at in instants:
        counts[int(at // bucket)] += 1
    return [round(count / bucket, 1) for count in counts]


def french_int(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def timeline(instants: list[float], bucket: int = 900) -> list[int]:
    counts = [0] * (DAY_SECONDS // bucket)
    for at in instants:
        counts[min(len(counts) - 1, int(at // bucket))] += 1
    return counts


def bar_chart(values: list[float], labels: list[str], *, width: int = 720, height: int = 200, colour: str = "#2b6cb0", unit: str = "") -> str:
    if not values:
        return "<p>Aucune donnée.</p>"
    top = max(values) or 1
    step = width / len(values)
    bars = []
    for index, value in enumerate(values):
        h = (height - 30) * value / top
        x = index * step
        title = html.escape(f"{labels[index]} : {value:g}{unit}")
        bars.append(f'<rect x="{x + 1:.1f}" y="{height - 20 - h:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" fill="{colour}"><title>{title}</title></rect>')
    ticks = []
    every = max(1, len(labels) // 10)
    for index in range(0, len(labels), every):
        ticks.append(f'<text x="{index * step + 2:.1f}" y="{height - 5}" font-size="11">{html.escape(labels[index])}</text>')
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="0" y="12" font-size="11">max {top:g}{unit}</text>{"".join(bars)}{"".join(ticks)}</svg>'
    )


def render_html(document: dict[str, Any]) -> str:
    esc = html.escape
    timeline_values = document["timeline"]
    labels = [f"{FIRST_HOUR + (i * 15) // 60}h{(i * 15) % 60:02d}" for i in range(len(timeline_values))]
    latency = document["latency"]
    names = list(latency)
    rows = "".join(
        f"<tr><td>{esc(n)}</td><td>{v['requests']}</td><td>{v['p50_ms']}</td><td>{v['p95_ms']}</td><td>{v['p99_ms']}</td><td>{v['max_ms']}</td></tr>"
        for n, v in latency.items()
    )
    checks = "".join(
        f"<li class=\"{'ok' if c['ok'] else 'ko'}\">{'✔' if c['ok'] else '✘'} <b>{esc(c['name'])}</b> — {esc(c['detail'])}</li>" for c in document["checks"]
    )
    errors = "".join(f"<li>{esc(k)} : {v}</li>" for k, v in document["errors"].items()) or "<li>aucune</li>"
    samples = "".join(f"<li><code>{esc(s)}</code></li>" for s in document["error_samples"])
    missing = ", ".join(f"{s['station']} ({s['department']}, {s['channel']})" for s in document["stations_not_reported"]) or "aucun"
    faults = ", ".join(f"{k} × {v}" for k, v in document["faults"].items()) or "aucune"
    verdict = "RÉUSSIE" if document["ok"] else "ÉCHOUÉE"
    throughput = document["throughput"]
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Répétition générale — {verdict}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1a202c}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}.ok{{color:#276749}}.ko{{color:#c53030}}li{{margin:.3em 0}}
.verdict{{font-size:1.6em;font-weight:bold}}</style></head><body>
<h1>Répétition générale du scrutin</h1>
<p class="verdict {'ok' if document['ok'] else 'ko'}">Répétition {verdict}</p>
<p>{document['election']['stations']} bureaux, {french_int(document['election']['voters_on_lists'])} électeurs inscrits, départements {', '.join(document['election']['departments'])} ;
réglages : {esc(json.dumps(document['settings'], ensure_ascii=False))}</p>
<h2>Contrôles</h2><ul>{checks}</ul>
<h2>Débit</h2>
<p>{french_int(throughput['checkins'])} émargements acquittés ({throughput['checkins_per_second']} /s pendant la journée) ;
{throughput['reports']} procès-verbaux acquittés ({throughput['reports_per_second']} /s pendant la nuit) ; {french_int(throughput['requests'])} requêtes au total.</p>
<h3>Émargements acquittés par quart d'heure (heure simulée)</h3>
{bar_chart(timeline_values, labels)}
<h3>Émargements acquittés par seconde (temps réel, moyenne sur 5 s)</h3>
{bar_chart(document['timeline_real_5s'], [f"{i * 5} s" for i in range(len(document['timeline_real_5s']))], colour="#2f855a", unit=" /s")}
<h2>Latences par point d'entrée (ms)</h2>
<table><tr><th>Point d'entrée</th><th>requêtes</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>{rows}</table>
<h3>p95 par point d'entrée (ms)</h3>
{bar_chart([latency[n]['p95_ms'] for n in names], [str(i + 1) for i in range(len(names))], colour="#c05621", unit=" ms")}
<p>{' · '.join(f'{i + 1} = {esc(n)}' for i, n in enumerate(names))}</p>
<h2>Canaux</h2><p>{esc(json.dumps(document['channels'], ensure_ascii=False))}</p>
<h2>Pannes injectées</h2><p>{esc(faults)}</p><ul>{''.join(f'<li>{esc(e)}</li>' for e in document['fault_events'])}</ul>
<p>Nouvelles tentatives après coupure : {document['retries']}</p>
<h2>Erreurs</h2><ul>{errors}</ul><ul>{samples}</ul>
<h2>Bureaux sans résultats</h2><p>{esc(missing)}</p>
<h2>Bureaux transmis mais non validés</h2><p>{esc(", ".join(document["stations_not_validated"]) or "aucun")}</p>
<h2>Durées (s)</h2><p>{esc(json.dumps(document['timings_seconds'], ensure_ascii=False))}</p>
</body></html>"""


def write(document: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ".gitignore").write_text("*\n")  # a generated report, never committed by mistake
    json_path, html_path = directory / "repetition.json", directory / "repetition.html"
    json_path.write_text(json.dumps(document, ensure_ascii=False, indent=1))
    html_path.write_text(render_html(document))
    return json_path, html_path
