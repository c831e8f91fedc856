"""`flask db upgrade` from empty gives exactly the models' schema, on SQLite and PostgreSQL."""

import subprocess

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import saas.models  # noqa: F401  every table in db.metadata
from saas.extensions import db
from tests.conftest import ROOT, flask_command, flask_env, fresh_database_url, postgres_server_url


def upgrade_with_the_cli(url, tmp_path, *args):
    result = subprocess.run(
        flask_command("db", *args),
        cwd=ROOT,
        env=flask_env(DATABASE_URL=url, STORAGE_URL=f"file://{tmp_path}/storage"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def schema_differences(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    engine.dispose()
    return diff


def kinds():
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)


@pytest.mark.parametrize("kind", list(kinds()))
def test_upgrade_from_empty_matches_the_models(kind, tmp_path):
    if kind == "postgresql" and not postgres_server_url():
        from tests.conftest import require

        require("PostgreSQL", "DATABASE_URL is not set")
    if kind == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'empty.db'}", (lambda: None)
    else:
        url, drop = fresh_database_url(tmp_path)
    try:
        upgrade_with_the_cli(url, tmp_path, "upgrade")
        assert schema_differences(url) == []
        tables = set(inspect(create_engine(url)).get_table_names())
        assert {"tenant", "user", "company", "outbox_message", "audit_event"} <= tables
        # And back down to nothing, then up again: every migration is reversible.
        upgrade_with_the_cli(url, tmp_path, "downgrade", "base")
        assert set(inspect(create_engine(url)).get_table_names()) <= {"alembic_version"}
        upgrade_with_the_cli(url, tmp_path, "upgrade")
    finally:
        drop()
