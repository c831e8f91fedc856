"""The staff console's blueprint: one for all its pages, which live in modules by
subject (views: invoices and customers; upload_pages, api_pages, settings_pages,
companies_pages), each registering its routes here. The staff users and seats pages
are the seats feature's own blueprint (saas.seats.views)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from saas.auth.models import User
from saas.permissions import ROLE_LABELS, can

bp = Blueprint("console", __name__, template_folder="templates")


def staff() -> User:
    return current_user._get_current_object()


@bp.app_context_processor
def permissions():
    return {
        "can": lambda permission: can(current_user, permission),
        "role_label": lambda role: ROLE_LABELS.get(role, role),
    }
