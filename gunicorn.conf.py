"""gunicorn settings for the Défis application: `gunicorn -c gunicorn.conf.py defis.wsgi`.

`make serve` uses it. Every value can be changed from the environment (GUNICORN_*), so one
file serves a laptop, a small server and a larger one; the defaults are what the load test in
docs/benchmarks.md measured best on a 2-core machine. The application keeps no state in its
processes: several servers can run this behind one load balancer (README, "Production").
"""

import gc
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name}={value!r} is not a whole number.") from None


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SystemExit(f"{name}={value!r} is not a boolean: use 1 or 0.")


# Behind the TLS-terminating proxy, on the same machine: plain HTTP on the loopback.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# The pages spend most of their time in Python (templates, the ORM): one process per core plus
# one, so that every core has Python to run while a process waits on PostgreSQL.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
# Four threads in each (gunicorn's threaded worker; 1 gives the plain synchronous worker): a
# short page is not queued behind a long one (a PDF of a whole distribution day takes seconds),
# the waits on PostgreSQL overlap, and idle keep-alive connections hold no thread. On 2 cores
# the load test served 1.2 to 1.7 times as many requests as with 3 synchronous workers
# (docs/benchmarks.md). Each thread keeps its own database connection: 12 per server.
threads = _int("GUNICORN_THREADS", 4)

# A request that takes longer is killed and logged: the slowest legitimate one, 100 loan
# agreements in one PDF, takes under 10 s (docs/benchmarks.md).
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# Each worker is replaced after about this many requests, so that a slow leak cannot grow for
# ever; the jitter keeps the workers from restarting all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Django and the apps are imported once, before the workers are forked: a worker starts (and
# restarts after max_requests) in milliseconds and shares that memory. No database connection
# is opened at import time, so none is shared between processes.
preload_app = _bool("GUNICORN_PRELOAD", default=True)

# No runtime control socket (gunicorn 25.1 and later): nothing here uses `gunicornc`, and its
# default path in the home folder would be shared by every gunicorn of the same user (a second
# server on the machine, the load test's). Older versions ignore the name.
control_socket_disable = True

# The heartbeat file of each worker in memory rather than on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# One line per request on standard output (journald collects it), with the time taken (%(M)s,
# in milliseconds) and the client's address as the proxy gave it.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def when_ready(server):
    """Before the workers are forked: the objects of the loaded application go out of the
    garbage collector's reach. They live as long as the process, and a full collection would
    otherwise walk them all (a pause of about 80 ms every few dozen requests), and the pages of
    memory the workers share stay shared."""
    if preload_app:
        gc.freeze()
