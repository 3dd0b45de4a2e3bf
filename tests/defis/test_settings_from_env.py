"""Settings come from the environment; a bad value stops start-up and names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from defis.env import database_from_env, email_from_env, env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_uses_sqlite_when_database_url_is_unset(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = database_from_env("DATABASE_URL", "/srv/defis/db.sqlite3")
    assert config == {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/defis/db.sqlite3"}


def test_it_reads_a_postgresql_url(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://defis:s3cret@db.internal:5433/prets")
    config = database_from_env("DATABASE_URL", "unused")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "prets")
    assert (config["USER"], config["PASSWORD"]) == ("defis", "s3cret")


@pytest.mark.parametrize(
    "url",
    [
        "nonsense",
        "mysql2://u:p@h/db",
        "postgres://u:p@h:notaport/db",
        "postgres://u:p@h:5432/",
    ],
)
def test_it_refuses_a_database_url_it_cannot_use(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_env("DATABASE_URL", "unused")


@pytest.mark.parametrize("value", ["maybe", "2", "oui"])
def test_it_refuses_a_boolean_it_cannot_read(monkeypatch, value):
    monkeypatch.setenv("DJANGO_DEBUG", value)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        env_bool("DJANGO_DEBUG", default=False)


def test_it_reads_booleans_numbers_and_lists(monkeypatch):
    monkeypatch.setenv("A_FLAG", "True")
    monkeypatch.setenv("A_NUMBER", "42")
    monkeypatch.setenv("A_LIST", " prets.defis.info, ,localhost ")
    assert env_bool("A_FLAG", default=False) is True
    assert env_bool("UNSET_FLAG", default=True) is True
    assert env_int("A_NUMBER", 0) == 42
    assert env_list("A_LIST") == ["prets.defis.info", "localhost"]
    monkeypatch.setenv("A_NUMBER", "forty")
    with pytest.raises(ImproperlyConfigured, match="A_NUMBER"):
        env_int("A_NUMBER", 0)


def test_it_reads_an_email_url(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "submission://relay:pw@smtp.example.org:587")
    config = email_from_env("EMAIL_URL")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"], config["EMAIL_USE_TLS"]) == (
        "smtp.example.org",
        587,
        True,
    )


@pytest.mark.parametrize("url", ["bogus", "smtp://host:port"])
def test_it_refuses_an_email_url_it_cannot_use(monkeypatch, url):
    monkeypatch.setenv("EMAIL_URL", url)
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        email_from_env("EMAIL_URL")


def test_it_stops_start_up_on_a_bad_database_url_with_a_clear_message():
    result = _manage("check", DJANGO_DEBUG="1", DATABASE_URL="nonsense")
    assert result.returncode != 0
    assert "DATABASE_URL cannot be parsed" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_refuses_production_without_a_secret_key():
    result = _manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_it_passes_the_deployment_checks_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k8Gq2v9xP4mZ7tR1wY6uE3sN5bH0jL8cA2fD9gK4hQ7pV1xZ3nM6",
        DJANGO_ALLOWED_HOSTS="prets.defis.info",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_passes_them_too_behind_a_tls_proxy_that_redirects():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k8Gq2v9xP4mZ7tR1wY6uE3sN5bH0jL8cA2fD9gK4hQ7pV1xZ3nM6",
        DJANGO_ALLOWED_HOSTS="prets.defis.info",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_fails_the_deployment_checks_in_debug_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="1")
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout
