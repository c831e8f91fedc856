"""URL ids and response caching, for every blueprint.

Ids in URLs use the `id` converter: 1 to 2**31 - 1 (what an integer column holds on
every database), anything else is no such page (404), never a database error.
Everything shown to a signed-in person, every download and every API answer carries
`Cache-Control: no-store`, so no shared or browser cache keeps a copy; the public
assets (static files, the tenant's theme and logo) keep their own caching.
"""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the one bound of a row id, for URLs, query arguments and the API
# Public, identical for everybody: cacheable whoever asks.
CACHEABLE_ENDPOINTS = {"static", "site.theme", "site.logo"}
# Always private: the API, the platform console, the dev outbox (it holds links).
PRIVATE_BLUEPRINTS = {"api", "platform"}
PRIVATE_ENDPOINTS = {"site.outbox", "site.outbox_message", "site.outbox_message_html"}


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1..2**31-1; other numbers match no route (404)."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=MAX_ID)


def id_arg(value: str) -> int:
    """A query-string id (`request.args.get(..., type=id_arg)`): None when out of range."""
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"{value!r} is not an id")
    return number


def _private(response) -> bool:
    if request.blueprint in PRIVATE_BLUEPRINTS or request.endpoint in PRIVATE_ENDPOINTS:
        return True
    if response.headers.get("Content-Disposition"):  # a download
        return True
    return bool(current_user and current_user.is_authenticated)


def no_store(response):
    if request.endpoint in CACHEABLE_ENDPOINTS:
        return response
    if _private(response) and "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Before the blueprints: their rules need the converter when they are added."""
    app.url_map.converters["id"] = IdConverter
    app.after_request(no_store)
