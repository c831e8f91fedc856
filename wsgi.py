"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

from saas import ConfigError, create_app

# Gunicorn stops for good when a worker exits with this code (a boot error) instead of
# starting it again and again; the flask command just exits with it.
BOOT_ERROR = 3

try:
    app = create_app()
except ConfigError as error:
    # One clear sentence instead of a traceback: the setting and what is wrong with it.
    print(f"Configuration error: {error}", file=sys.stderr)
    sys.exit(BOOT_ERROR)
