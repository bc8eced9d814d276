"""Stations, their per-round state, staff and PIN: the service API other packages call."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from polling import codes, service
from polling.models import PinFailure, StationState, StaffRole
from services.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts, WrongPhase
from tests.polling.conftest import ORGANISER, PRESIDENT_PHONE, World


async def test_station_codes_are_valid_and_found_as_typed(session, world: World) -> None:
    code = world.bordeaux.code
    assert codes.is_valid(code)
    assert (await service.station_by_code(session, f"{code[:3]} {code[3:5]}-{code[5:]}")).id == world.bordeaux.id
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(InvalidInput, match="un chiffre est faux"):
        await service.station_by_code(session, wrong)
    unused = codes.generate(codes.MAX_SEQUENCE)
    with pytest.raises(NotFound, match="Aucun bureau de vote"):
        await service.station_by_code(session, unused)


async def test_area_and_department_resolvers(session, world: World) -> None:
    area = await service.station_area(session, world.bordeaux.code)
    assert area is not None and area.department_code == "33"
    assert set(area.bureaux) == {("33063", "0001"), ("33063", "0002")}
    assert await service.station_department(session, world.merignac.code) == "33"
    assert await service.station_department(session, "1234566") is None
    assert world.bordeaux.registered == 4


async def test_states_move_forward_with_their_timestamps(session, world: World) -> None:
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.READY
    row = await service.open_station(session, ORGANISER, world.bordeaux, world.round_1, via="sms")
    assert row.state == "open" and row.opened_at is not None and row.opened_via == "sms"
    with pytest.raises(Conflict, match="déjà ouvert depuis"):
        await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    with pytest.raises(WrongPhase, match="ne peut pas revenir"):
        await service.set_station_state(session, ORGANISER, world.bordeaux, world.round_1, StationState.READY)
    await service.close_station(session, ORGANISER, world.bordeaux, world.round_1)
    await service.mark_reported(session, ORGANISER, world.bordeaux, world.round_1)
    await service.mark_reported(session, ORGANISER, world.bordeaux, world.round_1)  # idempotent
    row = await service.mark_validated(session, ORGANISER, world.bordeaux, world.round_1)
    assert row.closed_at and row.reported_at and row.validated_at
    # A corrected report sends a validated station back to « reported ».
    row = await service.set_station_state(session, ORGANISER, world.bordeaux, world.round_1, StationState.REPORTED)
    assert row.state == "reported"


async def test_a_planned_station_cannot_open_and_polls_must_be_open(session, world: World) -> None:
    stations = await service.create_stations(
        session, ORGANISER, world.election, [service.StationSpec("33", "3303", "33063", "33-003", "Sans équipe", [])]
    )
    with pytest.raises(WrongPhase, match="n'est pas prêt"):
        await service.open_station(session, ORGANISER, stations[0], world.round_1)
    with pytest.raises(WrongPhase, match="Scrutin ouvert"):
        await service.open_station(session, ORGANISER, world.bordeaux, world.round_2)


async def test_close_open_stations_at_the_close_of_polls(session, world: World) -> None:
    await service.open_station(session, ORGANISER, world.bordeaux, world.round_1)
    assert await service.close_open_stations(session, ORGANISER, world.round_1) == 1
    assert await service.state_of(session, world.bordeaux, world.round_1) == StationState.CLOSED
    assert await service.state_of(session, world.merignac, world.round_1) == StationState.READY


async def test_staff_phones_are_normalised_and_checked(session, world: World) -> None:
    staff = await service.add_staff(session, ORGANISER, world.bordeaux, role=StaffRole.ASSESSOR, name=" Jean  Dupont ", phone="06 11 22 33 44")
    assert staff.phone == "+33611223344" and staff.name == "Jean Dupont"
    assert (await service.staff_for_phone(session, "+33611223344", world.bordeaux)).id == staff.id
    with pytest.raises(Forbidden, match="n'est pas enregistré pour le bureau"):
        await service.staff_for_phone(session, "+33611223344", world.merignac)
    with pytest.raises(Conflict):
        await service.add_staff(session, ORGANISER, world.bordeaux, role=StaffRole.ASSESSOR, name="Autre", phone="+33 6 11 22 33 44")
    with pytest.raises(InvalidInput, match="téléphone"):
        await service.add_staff(session, ORGANISER, world.bordeaux, role=StaffRole.PRESIDENT, name="Sans tél", phone="")
    assert [s.role for s in await service.staff_of(session, world.bordeaux.id)] == ["president", "assessor"]


async def test_pin_check_and_lockout_per_station_and_per_phone(session, world: World) -> None:
    await service.check_pin(session, world.bordeaux, world.bordeaux_pin, phone=PRESIDENT_PHONE)
    wrong = "000000" if world.bordeaux_pin != "000000" else "111111"
    for attempt in range(5):
        with pytest.raises(InvalidInput, match="Code PIN incorrect"):
            await service.check_pin(session, world.bordeaux, wrong, phone=PRESIDENT_PHONE)
    with pytest.raises(TooManyAttempts):
        await service.check_pin(session, world.bordeaux, world.bordeaux_pin, phone=PRESIDENT_PHONE)
    # The same phone is locked on another station too; another phone there is not.
    with pytest.raises(TooManyAttempts):
        await service.check_pin(session, world.merignac, world.merignac_pin, phone=PRESIDENT_PHONE)
    await service.check_pin(session, world.merignac, world.merignac_pin, phone="+33698765432")
    assert await session.scalar(select(func.count()).select_from(PinFailure)) == 10


async def test_a_new_pin_replaces_the_old_one(session, world: World) -> None:
    new = await service.issue_pin(session, ORGANISER, world.bordeaux)
    await service.check_pin(session, world.bordeaux, new)
    if new != world.bordeaux_pin:
        with pytest.raises(AppError):
            await service.check_pin(session, world.bordeaux, world.bordeaux_pin)
