"""The load test of issue 8: staff and coordinators browsing at the design scale.

Run through `make loadtest` (bench/loadtest.py), which starts a server of its own in production
mode and writes the figures into docs/benchmarks.md. By hand, against `make serve`:

    LOADTEST_RESULT=/tmp/loadtest.json .venv/bin/locust -f bench/locustfile.py --headless \\
        -u 20 -r 20 --run-time 5m --host http://127.0.0.1:8000

Each simulated person logs in through the real login form (CSRF token, password check), then
browses with no think time: it asks for its next page as soon as the previous one has arrived,
so 20 users measure what the server can serve, not how fast people read. Two people in three
are coordinators (each a different training body), one in three is the Défis team.

The measured window opens once every user has logged in (logging in checks a password with
PBKDF2 at its production cost, about half a second of CPU each, which a person pays once a
day): the statistics are reset then, and the test stops itself LOADTEST_SECONDS (60) later. The
logins are reported apart. With LOADTEST_RESULT set, the figures of the window, the logins and
the CPU time of every party (locust, gunicorn, PostgreSQL, the rest of the machine) are written
there as JSON (LOADTEST_SERVER_PID and LOADTEST_DATABASE name the server and its database).

Only GET requests after the login: the test reads the database, it changes nothing but the
sessions, the users' last-login time and django-axes' access log.
"""

import contextlib
import itertools
import json
import os
import random
import re
import time
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import gevent
import psutil
from gevent.event import Event
from locust import FastHttpUser, constant, events, task

PASSWORD = os.environ.get("LOADTEST_PASSWORD", "defis-demo")
STAFF_USERNAME = os.environ.get("LOADTEST_STAFF", "equipe")
COORDINATOR_USERNAME = "coordination-of-{:02d}"
COORDINATOR_BODIES = int(os.environ.get("LOADTEST_BODIES", "60"))
SECONDS = float(os.environ.get("LOADTEST_SECONDS", "60"))
RESULT = os.environ.get("LOADTEST_RESULT")
SERVER_PID = os.environ.get("LOADTEST_SERVER_PID")
# The name of the PostgreSQL database the server uses, to count its backends' CPU time.
DATABASE = os.environ.get("LOADTEST_DATABASE")

LOGIN = "/accounts/login/"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ASSETS = re.compile(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"')

coordinator_numbers = itertools.count(1)
logged_in = 0
static_encodings: dict[str, int] = {}  # how the static files came: "br", "gzip", "identity"
measuring = Event()
window: dict = {}
database_backends_seen: dict[int, float] = {}


class Person(FastHttpUser):
    abstract = True
    # No think time: a closed loop of 20 users measures capacity.
    wait_time = constant(0)

    # What the TLS-terminating proxy adds to every request it passes on; the application trusts
    # it (DJANGO_SECURE_PROXY_SSL_HEADER=1, as `make serve` sets). And what a browser accepts.
    default_headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "127.0.0.1",
        "Accept-Encoding": "gzip, br",
    }

    def __init__(self, environment):
        super().__init__(environment)
        # The address the browser sees, behind the proxy: checked by the CSRF protection.
        self.origin = f"https://{urlsplit(self.host).netloc}"
        # The cookies are Secure: the browser, on HTTPS, sends them back.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("https", "http")))

    def get(self, path: str, *, name: str):
        return self.client.get(path, name=name)

    def username(self) -> str:
        raise NotImplementedError

    def on_start(self):
        global logged_in
        self.account = self.username()
        self.log_in()
        logged_in += 1
        if logged_in == self.environment.runner.target_user_count:
            start_window(self.environment)
        measuring.wait()

    def log_in(self):
        page = self.get(LOGIN, name="login form")
        token = CSRF_FIELD.search(page.text or "")
        # The stylesheets and scripts, fetched once as a browser's first visit would (they are
        # cached for a year after that: their names change with their content).
        for asset in sorted(set(ASSETS.findall(page.text or ""))):
            response = self.get(asset, name="static file")
            encoding = response.headers.get("Content-Encoding") or "identity"
            static_encodings[encoding] = static_encodings.get(encoding, 0) + 1
        with self.client.post(
            LOGIN,
            data={
                "username": self.account,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Origin": self.origin, "Referer": self.origin + LOGIN},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or LOGIN in response.headers.get("Location", ""):
                response.failure(f"{self.account} not logged in ({response.status_code})")

    def ids(self, path: str, name: str, pattern: str) -> list[int]:
        """The objects a page links to, as a person picks one of them to open."""
        response = self.get(path, name=name)
        return sorted({int(pk) for pk in re.findall(pattern, response.text or "")})


class Staff(Person):
    weight = 1

    def username(self):
        return STAFF_USERNAME

    def on_start(self):
        self.loans, self.envelopes = [], []
        super().on_start()

    @task(2)
    def dashboard(self):
        self.get("/dashboard/", name="staff: dashboard")

    @task(2)
    def laptops(self):
        self.get("/inventory/laptops/", name="staff: laptop list")

    @task(2)
    def requests(self):
        self.get("/requests/", name="staff: request queue")

    @task(2)
    def loan_list(self):
        self.loans = self.ids("/loans/", "staff: loan list", r'href="/loans/(\d+)/"') or self.loans

    @task(4)
    def loan(self):
        if not self.loans:
            return self.loan_list()
        self.get(f"/loans/{random.choice(self.loans)}/", name="staff: loan page")

    @task(1)
    def arrears(self):
        self.get("/arrears/", name="staff: arrears")

    @task(1)
    def envelope(self):
        if not self.envelopes:
            self.envelopes = self.ids("/envelopes/", "staff: envelope list", r"/envelopes/(\d+)/")
        if self.envelopes:
            self.get(f"/envelopes/{random.choice(self.envelopes)}/", name="staff: envelope page")

    @task(1)
    def reconciliation(self):
        if not self.envelopes:
            return self.envelope()
        pk = random.choice(self.envelopes)
        self.get(f"/envelopes/{pk}/reconciliation/", name="staff: reconciliation")


class Coordinator(Person):
    weight = 2

    def username(self):
        # A different training body for each simulated coordinator.
        number = (next(coordinator_numbers) - 1) % COORDINATOR_BODIES + 1
        return COORDINATOR_USERNAME.format(number)

    def on_start(self):
        self.trainees = []
        super().on_start()

    @task(3)
    def portal(self):
        self.get("/portal/", name="coordinator: portal")

    @task(3)
    def trainee_list(self):
        found = self.ids("/trainees/", "coordinator: trainee list", r'href="/trainees/(\d+)/"')
        self.trainees = found or self.trainees

    @task(2)
    def requests(self):
        self.get("/requests/", name="coordinator: requests")

    @task(4)
    def trainee(self):
        if not self.trainees:
            return self.trainee_list()
        self.get(f"/trainees/{random.choice(self.trainees)}/", name="coordinator: trainee page")


# --- The measured window ----------------------------------------------------------------------


def start_window(environment):
    """Every user has logged in: keep the logins' figures apart, reset, measure for SECONDS."""
    window["logins"] = [entry.serialize() for entry in environment.stats.entries.values()]
    window["login_errors"] = [error.serialize() for error in environment.stats.errors.values()]
    window["static_encodings"] = static_encodings
    environment.stats.reset_all()
    if DATABASE:
        database_backends_seen.update(_database_backends())
        gevent.spawn(_watch_database, database_backends_seen)
    window["cpu_start"] = cpu_times()
    window["started"] = time.time()
    measuring.set()
    gevent.spawn_later(SECONDS, end_window, environment)


def end_window(environment):
    window["ended"] = time.time()
    window["cpu"] = cpu_used(window.pop("cpu_start"), cpu_times())
    stats = environment.stats
    window["entries"] = [summary(entry) for entry in stats.entries.values()]
    window["total"] = summary(stats.total)
    window["errors"] = [error.serialize() for error in stats.errors.values()]
    window["users"] = dict(environment.runner.user_classes_count)
    if RESULT:
        with open(RESULT, "w", encoding="utf-8") as file:
            json.dump(window, file, indent=1)
    environment.runner.quit()


def summary(entry) -> dict:
    duration = window["ended"] - window["started"]
    return {
        "method": entry.method,
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.num_requests / duration,
        "p50": entry.get_response_time_percentile(0.50),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
        "max": entry.max_response_time,
        "mean": entry.avg_response_time,
        "bytes": entry.avg_content_length,
    }


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of a process and all its children, those already gone included."""
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += _cpu(child)
    return total


def _database_backends() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the test's database (the others
    may serve other work on the same machine)."""
    backends = {}
    for process in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and f" {DATABASE} " in f"{title} ":
            with contextlib.suppress(psutil.NoSuchProcess):
                backends[process.pid] = _cpu(process)
    return backends


def _watch_database(seen: dict[int, float]) -> None:
    """Keeps the last CPU time seen of every backend, every half second: a backend closed
    during the window (persistent connections last 60 s) takes little of its time with it."""
    while True:
        seen.update(_database_backends())
        gevent.sleep(0.5)


def cpu_times() -> dict:
    machine = psutil.cpu_times()
    times = {
        "locust": _tree_cpu(psutil.Process()),
        "machine_busy": sum(machine) - machine.idle - getattr(machine, "iowait", 0),
    }
    if SERVER_PID:
        times["gunicorn"] = _tree_cpu(psutil.Process(int(SERVER_PID)))
    if DATABASE:
        times["postgresql"] = dict(database_backends_seen)
        times["postgresql"].update(_database_backends())
    return times


def cpu_used(start: dict, end: dict) -> dict:
    """CPU seconds used between two cpu_times()."""
    used = {
        name: end[name] - start[name]
        for name in ("locust", "gunicorn", "machine_busy")
        if name in start
    }
    if "postgresql" in start:
        before = start["postgresql"]
        used["postgresql"] = sum(
            value - before.get(pid, 0) for pid, value in end["postgresql"].items()
        )
    return used


@events.quitting.add_listener
def _fail_on_errors(environment, **_kwargs):
    # A non-zero exit when anything failed, logins included.
    if environment.stats.total.num_failures or window.get("login_errors"):
        environment.process_exit_code = 1
