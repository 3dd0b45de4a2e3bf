"""`make loadtest`: the load test of issue 8, from start to figures.

Starts gunicorn in production mode (gunicorn.conf.py) on 127.0.0.1, on port 8000 or a free one,
waits for /healthz, runs bench/locustfile.py headless (20 users, 60 s measured after every user
has logged in), stops the server, and prints the figures as Markdown; with --write they replace
what is between the loadtest markers of docs/benchmarks.md.

Needs DATABASE_URL naming a copy of the design-scale database (`python manage.py seed_scale`):
the test logs in, which writes sessions. `make loadtest` has migrated it and collected the
static files; run by hand, do both first. Exits non-zero when a request failed.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Load test (issue 8)"
START, END = "<!-- loadtest:start -->", "<!-- loadtest:end -->"

# Production mode on the loopback, as behind a TLS-terminating proxy (the same as `make serve`).
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "defis.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "loadtest-only-not-secret",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, help="default: 8000 when free, else any free port")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    options = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL must name a copy of the design-scale database (seed_scale).")
    for name, value in PRODUCTION.items():
        os.environ.setdefault(name, value)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    dataset = describe_database(options.users)
    port = options.port or free_port(8000)
    work = Path(tempfile.mkdtemp(prefix="defis-loadtest-"))
    result_file, access_log = work / "result.json", work / "access.log"
    print(f"Working files in {work}", flush=True)

    server = start_server(port, access_log, work / "server.log")
    try:
        wait_until_healthy(port, server)
        load = os.getloadavg()
        locust = subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(options.users),
                "--spawn-rate",
                str(options.users),
                # A bound in case the window never opens (a login that hangs): the test then
                # stops by itself all the same.
                "--run-time",
                f"{options.seconds + 180}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env={
                **os.environ,
                "LOADTEST_RESULT": str(result_file),
                "LOADTEST_SECONDS": str(options.seconds),
                "LOADTEST_SERVER_PID": str(server.pid),
                "LOADTEST_DATABASE": dataset["name"] if dataset["vendor"] == "postgresql" else "",
            },
            cwd=ROOT,
        )
    finally:
        stop_server(server)

    if not result_file.exists():
        sys.exit(f"The measured window never closed (see {work}).")
    window = json.loads(result_file.read_text(encoding="utf-8"))
    window["server_ms"] = server_times(access_log, window["started"], window["ended"])
    report = render(window, dataset, options, load_before=load)
    print(report)
    if options.write:
        write_section(report)
        print(f"Written into {DOC.relative_to(ROOT)}.")
    return 0 if locust.returncode == 0 and not failures(window) else 1


# --- The server -------------------------------------------------------------------------------


def free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def start_server(port: int, access_log: Path, log: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(access_log),
    }
    with open(log, "w", encoding="utf-8") as output:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "defis.wsgi"],
            env=environment,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_healthy(port: int, server: subprocess.Popen, seconds: int = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped at start (exit code {server.returncode}).")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.5)
    sys.exit(f"/healthz did not answer 200 within {seconds} s.")


def stop_server(server: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's master (only the server started here): it stops its workers."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def server_times(access_log: Path, started: float, ended: float) -> dict:
    """Time spent in gunicorn per page request of the window (%(M)s of the access log)."""
    line = re.compile(r'\[([^\]]+)\] "(\w+) (\S+) [^"]*" (\d+) \S+ (\d+)ms')
    times = []
    if access_log.exists():
        for text in access_log.read_text(encoding="utf-8", errors="replace").splitlines():
            match = line.search(text)
            if not match or match.group(3).startswith(("/static/", "/accounts/")):
                continue
            moment = datetime.datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z")
            # The log has whole seconds: a request is in the window if its second is.
            if int(started) <= moment.timestamp() <= ended:
                times.append(int(match.group(5)))
    if not times:
        return {}
    times.sort()
    return {
        "requests": len(times),
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "mean": statistics.fmean(times),
    }


# --- What was measured on -------------------------------------------------------------------------


def describe_database(users: int) -> dict:
    import django

    django.setup()
    from django.db import connection

    from defis.models import User
    from inventory.models import Laptop
    from loans.models import FeeEntry, Loan
    from trainees.models import Trainee, TrainingBody

    needed = ["equipe"] + [f"coordination-of-{n:02d}" for n in range(1, min(users, 60) + 1)]
    missing = set(needed) - set(
        User.objects.filter(username__in=needed).values_list("username", flat=True)
    )
    if missing:
        sys.exit(
            f"Accounts missing from the database: {', '.join(sorted(missing))}. "
            "Run `python manage.py seed_scale` on a copy of the database first."
        )
    facts = {
        "vendor": connection.vendor,
        "name": connection.settings_dict["NAME"],
        "training bodies": TrainingBody.objects.count(),
        "trainees": Trainee.objects.count(),
        "laptops": Laptop.objects.count(),
        "loans": Loan.objects.count(),
        "active loans": Loan.objects.filter(status=Loan.Status.ACTIVE).count(),
        "ledger lines": FeeEntry.objects.count(),
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database()), version()")
            size, version = cursor.fetchone()
        facts["size"] = f"{size / 2**20:.0f} MB"
        facts["server"] = version.split(" on ")[0]
    connection.close()
    return facts


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kilobytes = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kilobytes / 2**20:.0f} GiB of memory"
    return f"{model}, {os.cpu_count()} virtual CPUs{memory}"


def versions() -> str:
    names = ["Django", "gunicorn", "whitenoise", "psycopg2-binary", "locust"]
    found = [f"{name} {metadata.version(name)}" for name in names if installed(name)]
    return f"Python {platform.python_version()}, " + ", ".join(found)


def installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def server_config() -> str:
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    kind = "sync" if config["threads"] == 1 else f"gthread, {config['threads']} threads each"
    preload = "on" if config["preload_app"] else "off"
    return (
        f"{config['workers']} workers ({kind}), preload {preload}, "
        f"max_requests {config['max_requests']} ± {config['max_requests_jitter']}, access log on"
    )


# --- The report ----------------------------------------------------------------------------------


def failures(window: dict) -> int:
    logins = sum(entry["num_failures"] for entry in window["logins"])
    return window["total"]["failures"] + logins


def render(window: dict, dataset: dict, options, *, load_before) -> str:
    total = window["total"]
    seconds = window["ended"] - window["started"]
    counts = window["users"]
    users = f"{counts.get('Staff', 0)} staff, {counts.get('Coordinator', 0)} coordinators"
    when = datetime.datetime.fromtimestamp(window["started"]).astimezone()
    lines = [
        f"### Figures measured on {when:%d %B %Y at %H:%M %Z}",
        "",
        f"- Machine: {machine()}; load average {load_before[0]:.2f} just before the test "
        "(the machine is shared: other processes may have run during it).",
        f"- Software: {versions()}; {dataset.get('server', dataset['vendor'])}.",
        f"- Server: `make serve`'s gunicorn.conf.py, {server_config()}; production settings "
        "(DEBUG off, compressed static files, persistent connections, health checks).",
        f"- Database: {database_line(dataset)}.",
        f"- Load: {options.users} users ({users}), no think time, {seconds:.0f} s measured "
        "after every user had logged in; locust on the same machine.",
        "",
        "| Measure | Result | Target |",
        "| --- | ---: | ---: |",
        f"| requests per second, all | **{total['rps']:.1f}** | ≥ 80 |",
        f"| p50 | {total['p50']} ms |  |",
        f"| p95 | **{total['p95']} ms** |  |",
        f"| p99 | {total['p99']} ms |  |",
        f"| max | {total['max']:.0f} ms |  |",
        f"| errors | **{total['failures']}** of {total['requests']} | 0 |",
    ]
    server = window.get("server_ms")
    if server:
        lines.append(
            f"| time in gunicorn per page (access log), p50 / p95 | "
            f"{server['p50']:.0f} / {server['p95']} ms |  |"
        )
    lines += [
        "",
        "| Page | Requests | per second | p50 | p95 | p99 | max | Errors | Size |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in sorted(window["entries"], key=lambda entry: entry["name"]):
        if not entry["requests"]:
            continue
        lines.append(
            f"| {entry['name']} | {entry['requests']} | {entry['rps']:.1f} | {entry['p50']} | "
            f"{entry['p95']} | {entry['p99']} | {entry['max']:.0f} | {entry['failures']} | "
            f"{entry['bytes'] / 1024:.0f} kB |"
        )
    lines += ["", *login_lines(window), *cpu_lines(window, seconds), *error_lines(window)]
    return "\n".join(lines).rstrip() + "\n"


def database_line(dataset: dict) -> str:
    keys = ("training bodies", "trainees", "laptops", "loans", "active loans", "ledger lines")
    counts = ", ".join(f"{dataset[key]:_} {key}".replace("_", " ") for key in keys)
    size = f" ({dataset['size']})" if "size" in dataset else ""
    return f"{dataset['vendor']}{size}: {counts}"


def login_lines(window: dict) -> list[str]:
    before = {entry["name"]: entry for entry in window["logins"]}
    lines = []
    if "login" in before:
        entry = before["login"]
        count = entry["num_requests"]
        mean = entry["total_response_time"] / count if count else 0
        lines.append(
            f"Before the window, {count} logins at once: mean {mean:.0f} ms, max "
            f"{entry['max_response_time']:.0f} ms, {entry['num_failures']} failed (each checks "
            "a password with PBKDF2 at Django's production cost)."
        )
    if "static file" in before:
        entry = before["static file"]
        count = entry["num_requests"]
        encodings = ", ".join(
            f"{number} {encoding}"
            for encoding, number in sorted(window["static_encodings"].items())
        )
        lines.append(
            f"Each user also fetched the stylesheets and scripts once, as a first visit does: "
            f"{count} requests, {entry['num_failures']} failed, sent as {encodings}."
        )
    return [" ".join(lines), ""] if lines else []


def cpu_lines(window: dict, seconds: float) -> list[str]:
    used = window["cpu"]
    cores = os.cpu_count() or 1
    available = seconds * cores
    parts = {name: used[name] for name in ("gunicorn", "postgresql", "locust") if name in used}
    serving = sum(parts.values())
    parts["everything else on the machine"] = max(used["machine_busy"] - serving, 0)
    parts["idle"] = max(available - used["machine_busy"], 0)
    cells = ", ".join(
        f"{name} {value:.0f} s ({value / available:.0%})" for name, value in parts.items()
    )
    requests = window["total"]["requests"]
    lines = [
        f"CPU time during the window ({available:.0f} s = {seconds:.0f} s × {cores} cores): "
        f"{cells}. PostgreSQL counts the backends connected to the test's database.",
    ]
    if requests and serving:
        per_request = serving / requests * 1000
        lines.append(
            f"Per request, gunicorn, PostgreSQL and locust together used {per_request:.1f} ms of "
            f"CPU ({parts.get('gunicorn', 0) / requests * 1000:.1f} ms in gunicorn, "
            f"{parts.get('postgresql', 0) / requests * 1000:.1f} ms in PostgreSQL): with the "
            f"{cores} cores to themselves they would serve at most about "
            f"{cores * 1000 / per_request:.0f} requests per second."
        )
    return [" ".join(lines), ""]


def error_lines(window: dict) -> list[str]:
    errors = window["errors"] + window["login_errors"]
    if not errors:
        return []
    lines = ["Errors:", ""]
    for error in errors:
        lines.append(
            f"- {error['occurrences']} × {error['method']} {error['name']}: {error['error']}"
        )
    return [*lines, ""]


def write_section(report: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{report}{END}"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        _old, after = rest.split(END, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
