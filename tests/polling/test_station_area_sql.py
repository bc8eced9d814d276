"""Polling's station area as SQL (`station_area.area_sql`, read by the registry's session-less
search within its own statement) is the area `station_area` returns."""

from __future__ import annotations

from polling import service
from services.db import driver_connection
from tests.polling.conftest import World


async def test_the_area_sql_reads_the_area_the_resolver_returns(session, world: World) -> None:
    connection = await driver_connection(session)
    sql = f"SELECT * FROM ({service.station_area.area_sql.format(station='$1::text')}) AS area"
    for station in (world.bordeaux, world.merignac):
        area = await service.station_area(session, station.code)
        rows = await connection.fetch(sql, station.code)
        assert area is not None and area.bureaux
        assert {(row["commune_code"], row["bureau_code"]) for row in rows} == set(area.bureaux)
        assert {row["department_code"] for row in rows} == {area.department_code}
    assert await connection.fetch(sql, "1234566") == [] and await service.station_area(session, "1234566") is None
