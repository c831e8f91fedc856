"""API keys at the service level: shown once, hashed, tenant-bound, revoked by a new password."""

import pytest
from flask import g
from sqlalchemy import select

from saas.auth import apikeys
from saas.auth.models import ApiKey, User
from saas.auth.services import change_password
from saas.extensions import db
from tests.factories import make_tenant, make_user


@pytest.fixture
def biller(ctx):
    g.tenant = make_tenant("issuer")
    return make_user(g.tenant, role="biller")


def test_a_key_is_stored_as_a_hash_with_a_visible_prefix(biller):
    key, raw = apikeys.create_api_key(biller)
    db.session.commit()
    assert raw.startswith("inv_") and len(raw) > 50
    assert raw.startswith(key.prefix) and len(key.prefix) == 12
    stored = db.session.scalars(select(ApiKey)).one()
    assert raw not in (stored.key_hash, stored.prefix)
    check = apikeys.check_api_key(raw)
    assert check.error is None and check.key.user_id == biller.id
    assert check.key.last_used_at is not None


@pytest.mark.parametrize(
    "mangle", [lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), lambda k: ""]
)
def test_a_wrong_key_is_invalid(biller, mangle):
    _, raw = apikeys.create_api_key(biller)
    db.session.commit()
    assert apikeys.check_api_key(mangle(raw)).error == "key_invalid"


def test_a_key_of_another_tenant_is_invalid(other_tenant, biller):
    _, raw = apikeys.create_api_key(biller)
    g.tenant = other_tenant.load()
    db.session.commit()
    assert apikeys.check_api_key(raw).error == "key_invalid"


def test_a_password_change_revokes_every_key_and_says_why(biller):
    _, first = apikeys.create_api_key(biller)
    _, second = apikeys.create_api_key(biller)
    db.session.commit()
    change_password(db.session.get(User, biller.id), "otoño en la sabana de bogotá")
    db.session.commit()
    for raw in (first, second):
        check = apikeys.check_api_key(raw)
        assert check.error == "key_revoked"
        assert "revoked after a password change; get a new key" in check.message
    _, fresh = apikeys.create_api_key(biller)
    db.session.commit()
    assert apikeys.check_api_key(fresh).error is None


def test_a_key_revoked_by_hand_or_of_a_deactivated_user(biller):
    key, raw = apikeys.create_api_key(biller)
    db.session.commit()
    apikeys.revoke_api_key(key, by=biller)
    db.session.commit()
    assert apikeys.check_api_key(raw).error == "key_revoked_manually"
    _, other = apikeys.create_api_key(biller)
    biller.active = False
    db.session.commit()
    assert apikeys.check_api_key(other).error == "user_inactive"
