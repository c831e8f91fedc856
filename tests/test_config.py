"""Settings come only from the environment, with embedded defaults and clear errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from saas import ConfigError, create_app
from saas.config import build, mail_settings, storage_settings
from tests.conftest import ROOT, flask_command, flask_env


def test_embedded_defaults(tmp_path):
    cfg = build({}, str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'saas.db'}"
    assert cfg["STORAGE"] == {"backend": "file", "root": str(tmp_path / "storage")}
    assert cfg["MAIL"] == {"backend": "outbox"}
    assert cfg["REDIS_URL"] is None
    assert cfg["BASE_URL"] == "http://127.0.0.1:5000"
    assert cfg["SESSION_COOKIE_SECURE"] is False


def test_secret_key_is_generated_once_into_instance(tmp_path):
    first = build({}, str(tmp_path))["SECRET_KEY"]
    second = build({}, str(tmp_path))["SECRET_KEY"]
    assert len(first) >= 64
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_urls_are_parsed(tmp_path):
    cfg = build(
        {
            "DATABASE_URL": "postgres://u:p@db/saas",
            "STORAGE_URL": "s3://KEY:SEC%2FRET@minio:9000/invoices?secure=false",
            "MAIL_URL": "smtp://user:pass@smtp:587?starttls=true",
            "BASE_URL": "https://portal.example.com/",
        },
        str(tmp_path),
    )
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/saas"
    assert cfg["STORAGE"]["endpoint"] == "minio:9000"
    assert cfg["STORAGE"]["secret_key"] == "SEC/RET"
    assert cfg["STORAGE"]["secure"] is False
    assert cfg["MAIL"]["starttls"] is True and cfg["MAIL"]["port"] == 587
    assert cfg["BASE_URL"] == "https://portal.example.com"
    assert cfg["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("DATABASE_URL", "mysql://u@db/x", "only sqlite and postgresql"),
        ("DATABASE_URL", "not a url", "not a database URL"),
        ("STORAGE_URL", "ftp://host/x", "scheme 'ftp' is not supported"),
        ("STORAGE_URL", "s3://k:s@minio:9000", "needs a host and one bucket"),
        ("MAIL_URL", "pigeon://coop", "scheme 'pigeon' is not supported"),
        ("MAIL_URL", "smtp://h?starttls=maybe", "must be true or false"),
        ("MAIL_URL", "smtp://h:port", "port that is not a number"),
        ("STORAGE_URL", "s3://k:s@h:xx/bucket", "port that is not a number"),
        ("REDIS_URL", "http://redis", "is not a redis:// URL"),
        ("BASE_URL", "portal.example.com", "must be an absolute http(s) URL"),
    ],
)
def test_wrong_settings_raise_one_clear_error(tmp_path, key, value, words):
    with pytest.raises(ConfigError) as error:
        create_app({key: value, "INSTANCE_PATH": str(tmp_path)})
    assert key in str(error.value)
    assert words in str(error.value)


def test_password_in_a_wrong_url_is_not_printed():
    with pytest.raises(ConfigError) as error:
        storage_settings("s3://key:hunter2@minio:9000")
    assert "hunter2" not in str(error.value)
    with pytest.raises(ConfigError):
        mail_settings("smtp://:pw@")


@pytest.mark.parametrize(
    "key, value",
    [
        ("DATABASE_URL", "mysql://u@db/x"),
        ("STORAGE_URL", "ftp://host/x"),
        ("MAIL_URL", "pigeon://coop"),
        ("MAIL_URL", "smtp://mail.example?timeout=abc"),
    ],
)
def test_startup_with_a_wrong_url_prints_one_line_and_exits_3(tmp_path, key, value):
    env = flask_env(**{key: value})
    result = subprocess.run(
        flask_command("routes"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith(f"Configuration error: {key}")


def test_gunicorn_stops_on_a_wrong_setting_instead_of_restarting_workers(tmp_path):
    """A boot error (exit 3) makes gunicorn's master give up, not loop on new workers."""
    env = flask_env(STORAGE_URL="ftp://host/x")
    gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", "127.0.0.1:0"]
    result = subprocess.run(
        [*gunicorn, "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.count("Configuration error: STORAGE_URL") <= 2  # once per worker
