"""Writes for accounts and organizations. Views call these; they never touch models directly."""
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from apps.audit.services import record

from .models import Invitation, Membership, Organization, Role, User
from .permissions import Action, can, can_manage_role
from .seats import check_seat


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def create_organization(name: str, owner: User, *, personal: bool = False) -> Organization:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "An organization needs a name."})
    organization = Organization.objects.create(
        name=name, slug=_unique_slug(name), is_personal=personal
    )
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    record(organization.pk, "organization.created", target=organization,
           after={"name": organization.name, "owner": owner.email})
    return organization


def ensure_personal_organization(user: User) -> Organization:
    existing = Organization.objects.filter(
        is_personal=True, memberships__user=user, memberships__role=Role.OWNER
    ).first()
    if existing:
        return existing
    return create_organization(f"{user.email.split('@')[0]}'s organization", user, personal=True)


def rename_organization(actor: Membership, name: str) -> Organization:
    if not can(actor, Action.RENAME_ORGANIZATION):
        raise PermissionDenied("Only owners and admins can rename the organization.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "An organization needs a name."})
    organization = actor.organization
    before = organization.name
    with transaction.atomic():
        organization.name = name
        organization.save(update_fields=["name"])
        if before != name:
            record(organization.pk, "organization.renamed", target=organization,
                   before={"name": before}, after={"name": name})
    return organization


def invite_member(actor: Membership, email: str, role: str, *, accept_url: str) -> Invitation:
    """Invite an address; `accept_url` is a format string taking the one-time token.

    A new invitation to an address with an open one replaces it (a re-send).
    """
    if not can(actor, Action.INVITE_MEMBERS):
        raise PermissionDenied("Only owners and admins can invite members.")
    if role not in Role.values:
        raise ValidationError({"role": "Unknown role."})
    if not can_manage_role(actor, role):
        raise PermissionDenied("Only owners can invite owners.")
    organization = actor.organization
    email = User.objects.normalize_email(email.strip())
    if organization.memberships.filter(user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member."})
    check_seat(organization, counting_invitations=not organization.invitations.filter(
        email__iexact=email, accepted_at__isnull=True).exists())  # a re-send holds its seat
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        organization.invitations.filter(
            email__iexact=email, accepted_at__isnull=True
        ).delete()
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=Invitation.hash_token(token),
            invited_by=actor.user,
            expires_at=timezone.now() + timedelta(days=settings.OP_INVITATION_TTL_DAYS),
        )
        record(organization.pk, "invitations.sent", target=invitation, target_repr=email,
               after={"email": email, "role": role})
        link = accept_url.format(token=token)
        context = {"invitation": invitation, "link": link, "inviter": actor.user}
        transaction.on_commit(
            lambda: send_mail(
                subject=f"You are invited to {organization.name} on Oracle Platform",
                message=render_to_string("accounts/email/invitation.txt", context),
                from_email=None,
                recipient_list=[email],
            )
        )
    return invitation


@transaction.atomic
def accept_invitation(user: User, token: str) -> Membership:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )
    if invitation is None or invitation.accepted_at is not None:
        raise ValidationError("This invitation is not valid any more.")
    if invitation.is_expired:
        raise ValidationError("This invitation has expired; ask for a new one.")
    if invitation.email.lower() != user.email.lower():
        raise PermissionDenied(
            f"This invitation was sent to {invitation.email}; log in with that address."
        )
    if not invitation.organization.memberships.filter(user=user).exists():
        check_seat(invitation.organization, counting_invitations=False)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(invitation.organization_id, "invitations.accepted", target=invitation,
           target_repr=invitation.email, after={"email": user.email, "role": invitation.role})
    try:
        with transaction.atomic():
            return Membership.objects.create(
                organization=invitation.organization, user=user, role=invitation.role
            )
    except IntegrityError:  # already a member: the invitation is simply used up
        return Membership.objects.get(organization=invitation.organization, user=user)


def revoke_invitation(actor: Membership, invitation: Invitation) -> None:
    if not can(actor, Action.REVOKE_INVITATIONS):
        raise PermissionDenied("Only owners and admins can revoke invitations.")
    if invitation.organization_id != actor.organization_id:
        raise PermissionDenied("That invitation belongs to another organization.")
    with transaction.atomic():
        record(invitation.organization_id, "invitations.revoked", target=invitation,
               target_repr=invitation.email,
               before={"email": invitation.email, "role": invitation.role})
        invitation.delete()


def _other_owners(membership: Membership) -> int:
    return (
        Membership.objects.filter(organization_id=membership.organization_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def change_role(actor: Membership, membership: Membership, role: str) -> Membership:
    if membership.organization_id != actor.organization_id:
        raise PermissionDenied("That member belongs to another organization.")
    if role not in Role.values:
        raise ValidationError({"role": "Unknown role."})
    if not (can_manage_role(actor, role) and can_manage_role(actor, membership.role)):
        raise PermissionDenied("You cannot change this member's role.")
    if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners(membership):
        raise ValidationError("An organization needs at least one owner.")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    if before != role:
        record(membership.organization_id, "members.role_changed", target=membership,
               target_repr=membership.user.email, before={"role": before}, after={"role": role})
    return membership


@transaction.atomic
def remove_member(actor: Membership, membership: Membership) -> None:
    """Remove a member; any member may also remove themself (leave)."""
    if membership.organization_id != actor.organization_id:
        raise PermissionDenied("That member belongs to another organization.")
    leaving = membership.pk == actor.pk
    if not leaving and not (
        can(actor, Action.REMOVE_MEMBERS) and can_manage_role(actor, membership.role)
    ):
        raise PermissionDenied("You cannot remove this member.")
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise ValidationError("An organization needs at least one owner.")
    if leaving and membership.organization.is_personal:
        raise ValidationError("You cannot leave your personal organization.")
    record(membership.organization_id, "members.left" if leaving else "members.removed",
           target=membership, target_repr=membership.user.email,
           before={"email": membership.user.email, "role": membership.role})
    membership.delete()
