async def test_health(client):
    r = await client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["database"] == "ok"

async def test_landing(client):
    r = await client.get("/")
    assert r.status_code == 200, r.text
