"""Organization, member and invitation changes made on the pages are in the audit log: who (the
session's user), from where, what changed."""
import re

from django.urls import reverse

from apps.accounts.models import Invitation, Membership, Organization
from apps.audit.models import AuditEvent
from tests.factories import UserFactory

from .conftest import IP, last, stored_json


def _post(client, url_name, *args, data=None):
    return client.post(reverse(url_name, args=args), data or {}, REMOTE_ADDR=IP)


def _membership(tenants, who):
    return Membership.objects.get(user=tenants[who], organization=tenants["org"])


def _assert_by(event, user):
    assert (event.via, event.actor_user, event.actor_email, event.ip) == (
        "session", user, user.email, IP)


def _invite(client, org, mailoutbox, capture, email="new@example.com", role="admin"):
    with capture(execute=True):
        assert _post(client, "organization_invite", org.slug,
                     data={"email": email, "role": role}).status_code == 302
    link = re.search(r"/invitations/\S+/", mailoutbox[-1].body).group(0)
    return link.rstrip("/").rsplit("/", 1)[1]


def test_creating_an_organization_is_recorded(as_owner, tenants):
    assert as_owner.post(reverse("organization_list"), {"name": "Night Desk"},
                         REMOTE_ADDR=IP).status_code == 302
    event = last("organization.created")
    assert event.organization == Organization.objects.get(name="Night Desk")
    assert event.after == {"name": "Night Desk", "owner": tenants["owner"].email}
    _assert_by(event, tenants["owner"])


def test_renaming_is_recorded_with_the_old_and_new_name(as_owner, tenants):
    org = tenants["org"]
    assert _post(as_owner, "organization_settings", org.slug,
                 data={"name": "Acme Hedging"}).status_code == 302
    event = last("organization.renamed")
    assert (event.organization, event.target_repr) == (org, "Acme Hedging")
    assert (event.before, event.after) == ({"name": "Acme Risk"}, {"name": "Acme Hedging"})
    _assert_by(event, tenants["owner"])


def test_an_invitation_is_recorded_without_its_token(as_owner, tenants, mailoutbox,
                                                      django_capture_on_commit_callbacks):
    token = _invite(as_owner, tenants["org"], mailoutbox, django_capture_on_commit_callbacks)
    event = last("invitations.sent")
    assert (event.organization, event.target_repr) == (tenants["org"], "new@example.com")
    assert (event.before, event.after) == (None, {"email": "new@example.com", "role": "admin"})
    _assert_by(event, tenants["owner"])
    invitation = Invitation.objects.get()
    assert token not in stored_json(event) and invitation.token_hash not in stored_json(event)


def test_accepting_an_invitation_is_recorded_as_the_invitee(client, as_owner, tenants,
                                                             mailoutbox,
                                                             django_capture_on_commit_callbacks):
    token = _invite(as_owner, tenants["org"], mailoutbox, django_capture_on_commit_callbacks)
    invitee = UserFactory(email="new@example.com")
    client.force_login(invitee)
    assert client.post(reverse("invitation", args=[token]), REMOTE_ADDR=IP).status_code == 302
    event = last("invitations.accepted")
    assert event.organization == tenants["org"]
    assert event.after == {"email": "new@example.com", "role": "admin"}
    _assert_by(event, invitee)


def test_revoking_an_invitation_is_recorded(as_owner, tenants, mailoutbox,
                                            django_capture_on_commit_callbacks):
    _invite(as_owner, tenants["org"], mailoutbox, django_capture_on_commit_callbacks,
            role="viewer")
    invitation = Invitation.objects.get()
    assert _post(as_owner, "organization_invitation_revoke", tenants["org"].slug,
                 invitation.pk).status_code == 302
    event = last("invitations.revoked")
    assert (event.target_id, event.target_repr) == (str(invitation.pk), "new@example.com")
    assert (event.before, event.after) == ({"email": "new@example.com", "role": "viewer"}, None)
    _assert_by(event, tenants["owner"])


def test_a_role_change_is_recorded_with_before_and_after(as_owner, tenants):
    member = _membership(tenants, "member")
    assert _post(as_owner, "organization_member_role", tenants["org"].slug, member.pk,
                 data={"role": "admin"}).status_code == 302
    event = last("members.role_changed")
    assert (event.target_type, event.target_id, event.target_repr) == (
        "accounts.membership", str(member.pk), tenants["member"].email)
    assert (event.before, event.after) == ({"role": "member"}, {"role": "admin"})
    _assert_by(event, tenants["owner"])


def test_saving_the_same_role_records_nothing(as_owner, tenants):
    member = _membership(tenants, "member")
    _post(as_owner, "organization_member_role", tenants["org"].slug, member.pk,
          data={"role": "member"})
    assert not AuditEvent.objects.filter(action="members.role_changed").exists()


def test_removing_a_member_is_recorded(as_owner, tenants):
    member = _membership(tenants, "member")
    assert _post(as_owner, "organization_member_remove", tenants["org"].slug,
                 member.pk).status_code == 302
    event = last("members.removed")
    assert (event.target_repr, event.before) == (
        tenants["member"].email, {"email": tenants["member"].email, "role": "member"})
    _assert_by(event, tenants["owner"])


def test_leaving_is_recorded_as_the_member_who_left(client, tenants):
    member = _membership(tenants, "member")
    client.force_login(tenants["member"])
    assert _post(client, "organization_member_remove", tenants["org"].slug,
                 member.pk).status_code == 302
    event = last("members.left")
    assert (event.organization, event.target_repr) == (tenants["org"], tenants["member"].email)
    _assert_by(event, tenants["member"])


def test_a_refused_change_records_nothing(client, tenants):
    client.force_login(tenants["member"])
    owner = _membership(tenants, "owner")
    assert _post(client, "organization_member_remove", tenants["org"].slug,
                 owner.pk).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="members.").exists()
