"""Repeated failed admin sign-ins lock the address or the user out (django-axes)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def staff(db):
    return User.objects.create_user("editor", password="right password 42", is_staff=True)


def test_a_good_password_signs_in(staff):
    response = attempt(Client(), "editor", "right password 42")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_five_failures_for_one_user_lock_that_user_out(settings, staff):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(Client(), "editor", "wrong", address=f"10.0.1.{n}").status_code == 200
    locked = attempt(Client(), "editor", "wrong", address="10.0.1.99")
    assert locked.status_code == 429
    assert "登录已暂时锁定" in locked.content.decode()
    # Even the right password, from yet another address, is refused for a while.
    assert attempt(Client(), "editor", "right password 42", address="10.0.2.1").status_code == 429


def test_five_failures_from_one_address_lock_that_address_out(settings, staff):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), f"guess{n}", "wrong", address="10.9.9.9")
    assert attempt(Client(), "editor", "right password 42", address="10.9.9.9").status_code == 429
    assert attempt(Client(), "editor", "right password 42", address="10.9.9.8").status_code == 302
