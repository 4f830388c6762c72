"""Organization pages: list, create, switch, settings (members, roles, invitations)."""
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.audit import selectors as audit_selectors
from apps.audit.forms import AuditFilterForm

from . import seats, selectors, services
from .forms import InviteForm, OrganizationForm, RoleForm
from .http import AuthenticatedRequest
from .middleware import SESSION_KEY
from .models import Membership
from .permissions import Action, can, can_manage_role, require

AUDIT_PAGE_SIZE = 50


def organization_member_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Resolve `slug` to the user's membership; anyone else gets 404, not 403,
    so that other tenants' organizations cannot even be discovered."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthenticatedRequest, slug: str, *args: Any, **kwargs: Any
                ) -> HttpResponse:
        membership = selectors.membership_in(request.user, slug)
        if membership is None:
            raise Http404("No such organization")
        return view(request, membership, *args, **kwargs)

    return wrapped


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _back_to_settings(membership: Membership) -> HttpResponse:
    return redirect("organization_settings", slug=membership.organization.slug)


@login_required
def organization_list(request: AuthenticatedRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.create_organization(form.cleaned_data["name"], request.user)
        request.session[SESSION_KEY] = organization.slug
        messages.success(request, f"Created {organization.name}.")
        return redirect("organization_settings", slug=organization.slug)
    return render(request, "accounts/organization_list.html", {"form": form})


@login_required
@require_POST
def switch_organization(request: AuthenticatedRequest) -> HttpResponse:
    membership = selectors.membership_in(request.user, request.POST.get("organization", ""))
    if membership is None:
        raise Http404("No such organization")
    request.session[SESSION_KEY] = membership.organization.slug
    messages.info(request, f"Now working in {membership.organization.name}.")
    target = request.POST.get("next") or reverse("home")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "home")


@organization_member_required
def organization_settings(request: HttpRequest, membership: Membership) -> HttpResponse:
    rename_form = OrganizationForm(
        request.POST or None, initial={"name": membership.organization.name}
    )
    if request.method == "POST" and rename_form.is_valid():
        try:
            services.rename_organization(membership, rename_form.cleaned_data["name"])
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Organization renamed.")
        return _back_to_settings(membership)
    members = list(selectors.members_of(membership.organization))
    for member in members:
        member.can_edit = member.pk != membership.pk and can_manage_role(membership, member.role)
    return render(
        request,
        "accounts/organization_settings.html",
        {
            "membership": membership,
            "organization": membership.organization,
            "members": members,
            "seats": seats.seat_limit(membership.organization),
            "invitations": selectors.open_invitations(membership.organization),
            "rename_form": rename_form,
            "invite_form": InviteForm(),
            "role_form": RoleForm(),
            "can_rename": can(membership, Action.RENAME_ORGANIZATION),
            "can_invite": can(membership, Action.INVITE_MEMBERS),
            "can_revoke": can(membership, Action.REVOKE_INVITATIONS),
            "can_view_audit": can(membership, Action.VIEW_AUDIT),
            "can_view_billing": can(membership, Action.VIEW_BILLING),
        },
    )


@organization_member_required
@require_GET
def audit_log(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The organization's audit log, newest first, filtered by action group and actor."""
    require(membership, Action.VIEW_AUDIT)
    organization = membership.organization
    form = AuditFilterForm(request.GET, actors=audit_selectors.actors_of(organization.pk))
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_selectors.events_for(organization.pk,
                                        action_prefix=filters.get("group") or None,
                                        actor=filters.get("actor") or None)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {"membership": membership, "organization": organization, "form": form, "page": page,
         "query": query.urlencode()},
        status=200 if form.is_valid() else 400,
    )


@organization_member_required
@require_POST
def invite(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return _back_to_settings(membership)
    accept_url = request.build_absolute_uri(reverse("invitation", args=["TOKEN"]))
    try:
        invitation = services.invite_member(
            membership,
            form.cleaned_data["email"],
            form.cleaned_data["role"],
            accept_url=accept_url.replace("TOKEN", "{token}"),
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"Invitation sent to {invitation.email}.")
    return _back_to_settings(membership)


@organization_member_required
@require_POST
def change_member_role(
    request: HttpRequest, membership: Membership, member_id: int
) -> HttpResponse:
    member = get_object_or_404(Membership, pk=member_id, organization=membership.organization)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return _back_to_settings(membership)
    try:
        services.change_role(membership, member, form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"{member.user.email} is now {member.get_role_display()}.")
    return _back_to_settings(membership)


@organization_member_required
@require_POST
def remove_member(request: HttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    member = get_object_or_404(Membership, pk=member_id, organization=membership.organization)
    try:
        services.remove_member(membership, member)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return _back_to_settings(membership)
    if member.pk == membership.pk:
        messages.success(request, f"You left {membership.organization.name}.")
        request.session.pop(SESSION_KEY, None)
        return redirect("organization_list")
    messages.success(request, f"Removed {member.user.email}.")
    return _back_to_settings(membership)


@organization_member_required
@require_POST
def revoke_invitation(
    request: HttpRequest, membership: Membership, invitation_id: int
) -> HttpResponse:
    invitation = get_object_or_404(
        membership.organization.invitations, pk=invitation_id, accepted_at__isnull=True
    )
    services.revoke_invitation(membership, invitation)
    messages.success(request, f"Invitation to {invitation.email} revoked.")
    return _back_to_settings(membership)


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = selectors.invitation_by_token(token)
    if found is None or found.accepted_at is not None:
        raise Http404("This invitation is not valid any more.")
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        try:
            joined = services.accept_invitation(request.user, token)
        except (ValidationError, PermissionDenied) as error:
            text = _error_text(error) if isinstance(error, ValidationError) else str(error)
            messages.error(request, text)
        else:
            request.session[SESSION_KEY] = joined.organization.slug
            messages.success(request, f"Welcome to {joined.organization.name}.")
            return redirect("organization_settings", slug=joined.organization.slug)
    return render(request, "accounts/invitation.html", {"invitation": found})
