"""Typed readers for settings that come from the environment.

Each reader names the variable in its error, so that a bad value stops start-up with a
message an operator can act on instead of a traceback from deep inside Django.
"""

import os

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, default: str | None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_str(name: str, default: str = "") -> str:
    return _raw(name, default) or default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name, None)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1 or 0 (true or false).")


def env_int(name: str, default: int) -> int:
    value = _raw(name, None)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blanks around items are ignored."""
    value = _raw(name, None)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_env(name: str, default_sqlite_path: str) -> dict:
    """DATABASE_URL parsed into Django's DATABASES entry, SQLite when unset."""
    url = _raw(name, None)
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": default_sqlite_path}
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # the library raises several unrelated types
        raise ImproperlyConfigured(
            f"{name} cannot be parsed ({exc}). Expected for example "
            "postgres://user:password@host:5432/name or sqlite:////path/to/file.sqlite3"
        ) from None
    if config["ENGINE"] not in (
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    ):
        raise ImproperlyConfigured(f"{name} must name a PostgreSQL or SQLite database.")
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database (the path after the host).")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
    return config


def email_from_env(name: str) -> dict:
    """EMAIL_URL parsed into Django's EMAIL_* settings; an empty dict when unset."""
    url = _raw(name, None)
    if not url:
        return {}
    try:
        config = dj_email_url.parse(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name} cannot be parsed ({exc}).") from None
    if "EMAIL_BACKEND" not in config:
        raise ImproperlyConfigured(
            f"{name} has an unknown scheme. Expected for example "
            "smtp://user:password@host:587 with TLS as submission://..., or console://"
        )
    return {key: value for key, value in config.items() if value is not None}
