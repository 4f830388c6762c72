import re

import pytest
from django.urls import reverse

from apps.accounts.models import Invitation, Membership
from tests.factories import MembershipFactory, UserFactory


def settings_url(org):
    return reverse("organization_settings", args=[org.slug])


def test_owner_sees_members_on_the_settings_page(client, tenants):
    client.force_login(tenants["owner"])
    response = client.get(settings_url(tenants["org"]))
    assert response.status_code == 200
    assert tenants["member"].email.encode() in response.content
    assert tenants["outsider"].email.encode() not in response.content


@pytest.mark.parametrize(
    ("method", "url_name", "extra_args", "data"),
    [
        ("get", "organization_settings", [], {}),
        ("post", "organization_settings", [], {"name": "Mine now"}),
        ("post", "organization_invite", [], {"email": "x@example.com", "role": "member"}),
    ],
)
def test_a_member_of_another_org_gets_404_on_its_pages(
    client, tenants, method, url_name, extra_args, data
):
    client.force_login(tenants["outsider"])
    url = reverse(url_name, args=[tenants["org"].slug, *extra_args])
    response = getattr(client, method)(url, data)
    assert response.status_code == 404
    tenants["org"].refresh_from_db()
    assert tenants["org"].name == "Acme Risk"
    assert not Invitation.objects.exists()


def test_outsider_cannot_change_roles_or_remove_members_of_another_org(client, tenants):
    victim = Membership.objects.get(user=tenants["member"], organization=tenants["org"])
    client.force_login(tenants["outsider"])
    for url_name, data in [("organization_member_role", {"role": "owner"}),
                           ("organization_member_remove", {})]:
        # Through their own org's URL, pointing at a membership of the other org…
        url = reverse(url_name, args=[tenants["outsider_org"].slug, victim.pk])
        assert client.post(url, data).status_code == 404
        # …and through the other org's URL.
        url = reverse(url_name, args=[tenants["org"].slug, victim.pk])
        assert client.post(url, data).status_code == 404
    victim.refresh_from_db()
    assert victim.role == "member"


def test_anonymous_visitor_is_sent_to_login(client, tenants):
    response = client.get(settings_url(tenants["org"]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_viewer_cannot_invite(client, tenants):
    viewer = MembershipFactory(organization=tenants["org"], role="viewer").user
    client.force_login(viewer)
    response = client.post(
        reverse("organization_invite", args=[tenants["org"].slug]),
        {"email": "new@example.com", "role": "member"},
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert b"Send invitation" not in client.get(settings_url(tenants["org"])).content


def test_member_cannot_rename_or_change_roles(client, tenants):
    client.force_login(tenants["member"])
    assert client.post(settings_url(tenants["org"]), {"name": "Renamed"}).status_code == 302
    tenants["org"].refresh_from_db()
    assert tenants["org"].name == "Acme Risk"
    owner = Membership.objects.get(user=tenants["owner"], organization=tenants["org"])
    url = reverse("organization_member_role", args=[tenants["org"].slug, owner.pk])
    assert client.post(url, {"role": "viewer"}).status_code == 403
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_owner_invites_and_the_invitee_joins_with_the_emailed_link(
    client, tenants, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(tenants["owner"])
    with django_capture_on_commit_callbacks(execute=True):  # the email goes after commit
        response = client.post(
            reverse("organization_invite", args=[tenants["org"].slug]),
            {"email": "Dana@Example.com", "role": "admin"},
        )
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", mailoutbox[0].body).group(0)
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash  # only the hash is stored

    dana = UserFactory(email="dana@example.com")
    client.force_login(dana)
    path = link.split("testserver", 1)[1]
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(user=dana, organization=tenants["org"]).role == "admin"
    # The link works once.
    assert client.post(path).status_code == 404


def test_invitation_for_someone_else_is_refused(
    client, tenants, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(tenants["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("organization_invite", args=[tenants["org"].slug]),
                    {"email": "dana@example.com", "role": "member"})
    path = re.search(r"/invitations/\S+/", mailoutbox[0].body).group(0)
    client.force_login(tenants["outsider"])
    response = client.post(path)
    assert b"log in with that address" in response.content
    assert not tenants["org"].memberships.filter(user=tenants["outsider"]).exists()


def test_admin_cannot_make_an_owner(client, tenants):
    admin = MembershipFactory(organization=tenants["org"], role="admin")
    client.force_login(admin.user)
    member = Membership.objects.get(user=tenants["member"], organization=tenants["org"])
    url = reverse("organization_member_role", args=[tenants["org"].slug, member.pk])
    assert client.post(url, {"role": "owner"}).status_code == 403
    assert client.post(url, {"role": "viewer"}).status_code == 302
    member.refresh_from_db()
    assert member.role == "viewer"


def test_the_last_owner_cannot_leave_or_be_demoted(client, tenants):
    client.force_login(tenants["owner"])
    owner = Membership.objects.get(user=tenants["owner"], organization=tenants["org"])
    client.post(reverse("organization_member_remove", args=[tenants["org"].slug, owner.pk]))
    assert Membership.objects.filter(pk=owner.pk).exists()
    MembershipFactory(organization=tenants["org"], role="owner")
    client.post(reverse("organization_member_role", args=[tenants["org"].slug, owner.pk]),
                {"role": "member"})
    owner.refresh_from_db()
    assert owner.role == "member"


def test_member_can_leave(client, tenants):
    client.force_login(tenants["member"])
    membership = Membership.objects.get(user=tenants["member"], organization=tenants["org"])
    response = client.post(
        reverse("organization_member_remove", args=[tenants["org"].slug, membership.pk])
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_switcher_changes_the_current_organization_only_to_ones_you_belong_to(client, tenants):
    client.force_login(tenants["member"])
    client.post(reverse("switch_organization"), {"organization": tenants["org"].slug})
    assert client.get(reverse("home")).context["current_organization"] == tenants["org"]
    response = client.post(reverse("switch_organization"),
                           {"organization": tenants["outsider_org"].slug})
    assert response.status_code == 404
    assert client.get(reverse("home")).context["current_organization"] == tenants["org"]


def test_switcher_refuses_an_offsite_redirect(client, tenants):
    client.force_login(tenants["member"])
    response = client.post(reverse("switch_organization"),
                           {"organization": tenants["org"].slug, "next": "//evil.example/"})
    assert response["Location"] == reverse("home")


def test_create_a_new_organization(client, tenants):
    client.force_login(tenants["member"])
    response = client.post(reverse("organization_list"), {"name": "Treasury Ops"})
    membership = Membership.objects.get(user=tenants["member"], organization__name="Treasury Ops")
    assert membership.role == "owner"
    assert response["Location"] == settings_url(membership.organization)
