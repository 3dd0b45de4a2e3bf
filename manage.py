#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "defis.settings")
    if "DJANGO_SECRET_KEY" not in os.environ:
        # No secret key: a developer's checkout, not a configured server (which must set one,
        # and DJANGO_DEBUG=0). The web server's entry point, defis/wsgi.py, has no such default.
        os.environ.setdefault("DJANGO_DEBUG", "1")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration mistake deserves one clear line, not a traceback.
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
