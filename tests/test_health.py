"""/healthz says the process is up; /readyz checks database, storage and queue."""

from tests.conftest import free_port


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_ok_with_embedded_services(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "storage": "ok", "queue": "ok"}


def test_readyz_names_a_dead_storage(make_app):
    dead = f"s3://k:s@127.0.0.1:{free_port()}/invoices?secure=false"
    response = make_app(STORAGE_URL=dead).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["storage"]


def test_readyz_names_a_dead_queue(make_app):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    response = make_app(REDIS_URL=dead).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["queue"]


def test_readyz_names_a_dead_database(tmp_path):
    from saas import create_app
    from tests.conftest import base_config

    app = create_app(base_config(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/x.db"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["database"]
