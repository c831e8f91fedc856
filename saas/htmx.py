"""The one place that reads htmx's HX-* request headers.

`render(page, partial, **ctx)` answers a full page to a normal request and only the
partial (a template that owns its root element) to an htmx request. A history restore
(htmx's request for a page it has no cache of, when the user goes Back) carries
HX-Request too but swaps the whole body, so it gets the full page. Every response varies
on the headers that choose, so caches never mix the two.
"""

from __future__ import annotations

from flask import Flask, make_response, render_template, request

# Every request header read here: each one can change what a response holds.
VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")


def is_htmx() -> bool:
    """True for requests htmx made to swap a part of the page: not boosted navigation,
    nor a history restore, which needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def htmx_target() -> str | None:
    return request.htmx.target if is_htmx() else None


def render(page: str, partial: str | None = None, status: int = 200, **context):
    template = partial if partial and is_htmx() else page
    return make_response(render_template(template, **context), status)


def vary_on_htmx(response):
    for header in VARY:
        response.vary.add(header)
    return response


def init_app(app: Flask) -> None:
    app.after_request(vary_on_htmx)
