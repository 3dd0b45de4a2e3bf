from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _attempt(client, password, ip="192.0.2.10", username="alice"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _fail(client, times, **kwargs):
    for _ in range(times):
        _attempt(client, "wrong password", **kwargs)


def test_it_still_accepts_the_right_password_after_four_failures(client, alice, password):
    _fail(client, 4)
    response = _attempt(client, password)
    assert response.status_code == 302


def test_it_locks_out_after_five_failures_with_a_french_page(client, alice, password):
    _fail(client, 5)
    response = _attempt(client, password)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Trop de tentatives" in page
    assert "15 minutes" in page
    assert not client.session.get("_auth_user_id")


def test_it_locks_the_username_from_that_address_only(client, alice, password):
    _fail(client, 5, ip="192.0.2.10")
    assert _attempt(client, password, ip="198.51.100.7").status_code == 302


def test_it_does_not_lock_other_users_from_the_same_address(client, alice, bob, password):
    _fail(client, 5, username="alice")
    assert _attempt(client, password, username="bob").status_code == 302


def test_it_lets_the_user_in_again_after_fifteen_minutes(client, alice, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _fail(client, 5)
        assert _attempt(client, password).status_code == 429
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert _attempt(client, password).status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert _attempt(client, password).status_code == 302
