"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

from saas import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    # One clear sentence instead of a traceback: the setting and what is wrong with it.
    sys.exit(f"Configuration error: {error}")
