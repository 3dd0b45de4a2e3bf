"""Serving in production: gunicorn's settings, the static files WhiteNoise sends compressed, and
what the application servers keep between requests (nothing that a second server would miss)."""

import http.client
import json
import multiprocessing
import os
import re
import runpy
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from defis.models import User

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
SECRET_KEY = "k8Gq2v9xP4mZ7tR1wY6uE3sN5bH0jL8cA2fD9gK4hQ7pV1xZ3nM6"


def _clean_environment(**env) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_", "GUNICORN_", "MEDIA_ROOT"))
    }
    environment.update(env)
    return environment


def _gunicorn_settings(monkeypatch, **env) -> dict:
    for key in os.environ:
        if key.startswith("GUNICORN_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(GUNICORN_CONF))


# --- gunicorn.conf.py -------------------------------------------------------------------------


def test_it_serves_the_loopback_with_a_process_per_core_plus_one_by_default(monkeypatch):
    conf = _gunicorn_settings(monkeypatch)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == multiprocessing.cpu_count() + 1
    assert conf["threads"] == 4
    assert conf["timeout"] == 60
    assert conf["preload_app"] is True
    # Workers are replaced now and then, not all at once.
    assert conf["max_requests"] > 0
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]


def test_the_access_log_gives_the_time_each_request_took(monkeypatch):
    conf = _gunicorn_settings(monkeypatch)
    assert conf["accesslog"] == "-"
    assert "%(M)sms" in conf["access_log_format"]
    assert "%({x-forwarded-for}i)s" in conf["access_log_format"]


def test_every_value_comes_from_the_environment(monkeypatch):
    conf = _gunicorn_settings(
        monkeypatch,
        GUNICORN_BIND="127.0.0.1:8001,[::1]:8001",
        GUNICORN_WORKERS="9",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="120",
        GUNICORN_MAX_REQUESTS="500",
        GUNICORN_MAX_REQUESTS_JITTER="50",
        GUNICORN_PRELOAD="0",
        GUNICORN_ACCESS_LOG="/var/log/defis/access.log",
        GUNICORN_LOG_LEVEL="warning",
    )
    assert conf["bind"] == ["127.0.0.1:8001", "[::1]:8001"]
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (9, 4, 120)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (500, 50)
    assert conf["preload_app"] is False
    assert conf["accesslog"] == "/var/log/defis/access.log"
    assert conf["loglevel"] == "warning"


@pytest.mark.parametrize(
    ("name", "value"), [("GUNICORN_WORKERS", "many"), ("GUNICORN_PRELOAD", "perhaps")]
)
def test_a_value_it_cannot_read_stops_start_up_and_names_the_variable(monkeypatch, name, value):
    with pytest.raises(SystemExit, match=name):
        _gunicorn_settings(monkeypatch, **{name: value})


def test_gunicorn_accepts_the_file_and_loads_the_application(tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(GUNICORN_CONF),
            "--print-config",
            "defis.wsgi",
        ],
        cwd=ROOT,
        env=_clean_environment(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            GUNICORN_WORKERS="3",
            GUNICORN_THREADS="2",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    resolved = dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))
    assert resolved["workers"] == "3"
    assert resolved["threads"] == "2"
    assert resolved["preload_app"] == "True"


# --- Production settings, in a process of their own ----------------------------------------------

PRODUCTION_PROBE = """
import gzip, json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings

# Only the project's own files (not the admin's or Bootstrap's), to keep this quick; admin.css
# refers to an image of the admin's.
with override_settings(STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"]):
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin.css"])

url = static("css/defis.css")
client = Client(HTTP_HOST="prets.defis.info")
answers = {}
for accepted in ("", "gzip", "gzip, deflate, br"):
    response = client.get(url, secure=True, HTTP_ACCEPT_ENCODING=accepted)
    body = b"".join(response.streaming_content)
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    elif response.headers.get("Content-Encoding") == "br":
        import brotli
        body = brotli.decompress(body)
    answers[accepted or "identity"] = {
        "status": response.status_code,
        "encoding": response.headers.get("Content-Encoding"),
        "vary": response.headers.get("Vary"),
        "cache": response.headers.get("Cache-Control"),
        "same": body == (settings.STATIC_ROOT / url.removeprefix("/static/")).read_bytes(),
    }

try:
    import brotli  # noqa: F401
    has_brotli = True
except ImportError:
    has_brotli = False

database = settings.DATABASES["default"]
print(json.dumps({
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "url": url,
    "answers": answers,
    "brotli": has_brotli,
    "sessions": settings.SESSION_ENGINE,
    "axes": settings.AXES_HANDLER,
    "caches": sorted({cache["BACKEND"] for cache in settings.CACHES.values()}),
    "database": {
        "engine": database["ENGINE"],
        "max_age": database["CONN_MAX_AGE"],
        "health_checks": database["CONN_HEALTH_CHECKS"],
        "atomic": database["ATOMIC_REQUESTS"],
    },
    "media_root": str(settings.MEDIA_ROOT),
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """The production settings (DJANGO_DEBUG=0) on a PostgreSQL URL, and what WhiteNoise answers
    for a stylesheet collected into a STATIC_ROOT of their own. The probe never needs the
    database: nothing connects to it."""
    folder = tmp_path_factory.mktemp("serving")
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=_clean_environment(
            DJANGO_SETTINGS_MODULE="defis.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_ALLOWED_HOSTS="prets.defis.info",
            DATABASE_URL="postgres://defis:secret@db.internal:5432/defis",
            DJANGO_STATIC_ROOT=str(folder / "static"),
            MEDIA_ROOT=str(folder / "media"),
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_static_files_get_names_that_change_with_their_content(production):
    assert production["storage"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert re.fullmatch(r"/static/css/defis\.[0-9a-f]{12}\.css", production["url"])


def test_whitenoise_sends_a_stylesheet_compressed_when_the_browser_accepts_it(production):
    answers = production["answers"]
    assert answers["identity"]["encoding"] is None
    assert answers["gzip"]["encoding"] == "gzip"
    expected = "br" if production["brotli"] else "gzip"
    assert answers["gzip, deflate, br"]["encoding"] == expected
    for answer in answers.values():
        assert answer["status"] == 200
        assert answer["same"], "the compressed file is not the stylesheet"
        assert "Accept-Encoding" in answer["vary"]


def test_a_static_file_is_cached_for_ever_by_the_browser(production):
    # Its name changes with its content: a new version is a new name.
    cache = production["answers"]["gzip"]["cache"]
    assert "immutable" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 60 * 60 * 24 * 365


def test_postgresql_connections_are_kept_between_requests_and_checked(production):
    assert production["database"] == {
        "engine": "django.db.backends.postgresql",
        "max_age": 60,
        "health_checks": True,
        "atomic": True,
    }


def test_sessions_and_login_throttling_live_in_the_database(production):
    # Any server can answer any request: a second server sees the same sessions and the same
    # failed logins. The cache is per process: nothing may rely on it.
    assert production["sessions"] == "django.contrib.sessions.backends.db"
    assert production["axes"] == "axes.handlers.database.AxesDatabaseHandler"
    assert production["caches"] == ["django.core.cache.backends.locmem.LocMemCache"]
    assert production["media_root"].endswith("/media")


def test_no_module_of_the_application_uses_the_per_process_cache():
    uses = []
    for app in ("defis", "inventory", "trainees", "loans"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"(from|import) django\.core\.cache|cache_page|\bcaches\[", text):
                uses.append(str(path.relative_to(ROOT)))
    assert uses == []


# --- Two application servers on one database (PostgreSQL) ----------------------------------------

PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _user(username: str) -> User:
    # Hashed as production checks it (the test settings use a fast hasher production lacks);
    # few iterations, to be quick: the server upgrades the hash at the first login.
    hasher = PBKDF2PasswordHasher()
    return User.objects.create(
        username=username, password=hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    )


class Browser:
    """A browser on HTTPS behind the load balancer: the proxy's headers and the browser's
    cookies go to whichever server it is sent to."""

    def __init__(self):
        self.cookies = {}

    def send(self, port: int, method: str, path: str, form: dict | None = None):
        headers = {
            "Host": "127.0.0.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "127.0.0.1",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = "https://127.0.0.1"
        server = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            server.request(method, path, body, headers)
            response = server.getresponse()
            response.read()
        finally:
            server.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response

    def log_in(self, port: int, username: str, password: str = PASSWORD):
        self.send(port, "GET", "/accounts/login/")
        return self.send(
            port, "POST", "/accounts/login/", {"username": username, "password": password}
        )


@pytest.fixture
def two_servers(tmp_path):
    """Two gunicorn servers in production mode (as `make serve` runs them), each with its
    own processes, on the test database; MEDIA_ROOT shared as the README asks."""
    settings = connection.settings_dict
    database_url = (
        f"postgres://{quote(settings['USER'])}:{quote(settings['PASSWORD'])}"
        f"@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    environment = _clean_environment(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    # The pages name their static files through the manifest that `make serve` collects
    # first (a fresh clone has none); the admin's files (and ours, admin.css) are not needed.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0", "-i", "admin*"],
        cwd=ROOT,
        env=environment,
        check=True,
        timeout=300,
    )
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(GUNICORN_CONF), "defis.wsgi"],
            cwd=ROOT,
            env={
                **environment,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "1",
                "GUNICORN_ACCESS_LOG": "",
                "GUNICORN_LOG_LEVEL": "warning",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 60
        for port, server in zip(ports, servers, strict=True):
            while True:
                assert server.poll() is None, server.stderr.read()
                try:
                    if Browser().send(port, "GET", "/healthz").status == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield ports
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two servers on one database need PostgreSQL (CI runs it)",
)
@pytest.mark.django_db(transaction=True)
def test_two_servers_share_the_sessions_and_the_login_throttling(two_servers):
    first, second = two_servers
    _user("probe")
    browser = Browser()
    assert browser.log_in(first, "probe").status == 302

    # Logged in on one server, known on the other; logged out there, ended on both: even a
    # copy of the old session cookie opens nothing on the first server.
    assert browser.send(second, "GET", "/accounts/password_change/").status == 200
    copy = Browser()
    copy.cookies = dict(browser.cookies)
    assert browser.send(second, "POST", "/accounts/logout/", {}).status == 302
    answer = copy.send(first, "GET", "/accounts/password_change/")
    assert answer.status == 302
    assert answer.headers["Location"].startswith("/accounts/login/")

    # Five failed logins spread over both servers lock the account out on both.
    _user("target")
    attacker = Browser()
    for port in (first, second, first, second):
        assert attacker.log_in(port, "target", "wrong password").status == 200
    assert attacker.log_in(second, "target", "wrong password").status == 429
    assert attacker.log_in(first, "target").status == 429
