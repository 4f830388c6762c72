import pytest
from django.urls import reverse

from apps.accounts.models import Membership, Organization, User
from tests.factories import PASSWORD, UserFactory


def test_sign_up_creates_a_personal_organization_owned_by_the_new_user(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "alice@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(email="alice@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == "owner"
    assert membership.organization.is_personal
    # …and the new user is logged in and working in it.
    page = client.get(reverse("home"))
    assert page.context["current_organization"] == membership.organization


def test_every_user_gets_exactly_one_personal_organization(db):
    user = UserFactory()
    user.save()
    assert Organization.objects.filter(is_personal=True, memberships__user=user).count() == 1


def test_login_with_email_and_password(client, db):
    user = UserFactory(email="bob@example.com")
    response = client.post(
        reverse("account_login"), {"login": "bob@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == user


def test_wrong_password_shows_a_form_error(client, db):
    UserFactory(email="bob@example.com")
    response = client.post(reverse("account_login"), {"login": "bob@example.com", "password": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors


@pytest.mark.parametrize("url_name", ["account_login", "account_signup", "account_reset_password"])
def test_auth_pages_render_in_the_site_layout(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert b"Oracle Platform" in response.content
    assert b"vendor/htmx/htmx.min.js" in response.content


def test_password_reset_sends_an_email(client, db, mailoutbox):
    UserFactory(email="carol@example.com")
    client.post(reverse("account_reset_password"), {"email": "carol@example.com"})
    assert len(mailoutbox) == 1
    assert "carol@example.com" in mailoutbox[0].to


def test_landing_page_shows_the_devnet_label_and_sign_up(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"DEVNET" in response.content
    assert reverse("account_signup").encode() in response.content
