"""PostgreSQL restarted under the app: the pooled connections it cut are replaced (the
pool checks a connection before lending it), and while the server is away a request
fails fast with a 503 in the visitor's language, not a hang or a traceback."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from saas import create_app
from tests import html
from tests.conftest import base_config, free_port


@pytest.mark.postgres
@pytest.mark.committed  # the connections ended are the app's own, outside the test's
def test_connections_a_restart_cut_are_replaced(app, tenants):
    from saas.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        database = db.engine.url.database
    client = app.test_client()
    assert client.get("/t/intertec/login").status_code == 200
    # What a restart does to the pool: every server process of the database ends.
    admin = create_engine(os.environ["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": database},
        ).scalar()
    admin.dispose()
    assert ended >= 1
    for _ in range(3):  # every pooled connection was cut: none is lent broken
        assert client.get("/t/intertec/login").status_code == 200


@pytest.mark.postgres
def test_a_request_while_the_database_is_away_is_a_503_in_the_visitors_language(
    tmp_path, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    away = make_url(database_url).set(port=free_port())  # nothing listens there
    url = away.render_as_string(hide_password=False)
    app = create_app(base_config(tmp_path, DATABASE_URL=url))
    answer = app.test_client().get("/t/intertec/login?lang=es")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    page = html.doc(answer)
    assert html.text(page, "//article[@class='error-page']//h1") == "No disponible por el momento"
    api = app.test_client().get("/t/intertec/api/v1/invoices")
    assert api.status_code == 503 and api.get_json()["error"] == "service_unavailable"
