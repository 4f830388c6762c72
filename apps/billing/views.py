"""Billing pages: public pricing, the organization's billing page and its actions (Checkout,
plan changes, cancelling, the Customer Portal), and Stripe's webhook endpoint."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import cast

import stripe
from allauth.account.views import SignupView
from celery import current_app
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.models import Membership, Role, User
from apps.accounts.permissions import Action, can, require
from apps.accounts.views import organization_member_required
from apps.common.enqueue import enqueue

from . import selectors, services, stripe_api, webhooks
from .forms import PlanSignupForm, parse_choice
from .plans import INTERVALS, Interval, get_plan, plans, price_id

logger = logging.getLogger(__name__)


def _require_billing() -> None:
    if not settings.OP_BILLING_ENABLED:
        raise Http404("Billing is not enabled on this instance.")


def pricing(request: HttpRequest) -> HttpResponse:
    """Every plan and limit side by side, monthly or yearly."""
    _require_billing()
    interval = request.GET.get("interval", "monthly")
    membership = getattr(request, "membership", None)
    return render(request, "billing/pricing.html", {
        "plans": plans(), "interval": interval if interval in INTERVALS else "monthly",
        "membership": membership,
        "can_buy": membership is not None and can(membership, Action.MANAGE_BILLING),
    })


class PlanSignupView(SignupView):
    """allauth's sign-up, starting on the plan the pricing page's link chose; a paid choice
    goes on to its Checkout (an invitation's `next` still wins: that user joins a team)."""

    chosen: tuple[str, Interval] | None = None

    def get_initial(self) -> dict:
        initial = super().get_initial()
        wanted = f"{self.request.GET.get('plan', '')}:{self.request.GET.get('interval', 'monthly')}"
        if parse_choice(wanted):
            initial["plan"] = wanted
        return initial

    def form_valid(self, form: PlanSignupForm) -> HttpResponse:
        self.chosen = form.chosen_plan()
        return super().form_valid(form)

    def get_default_success_url(self) -> str | None:  # used when no `next` was given
        if self.chosen is not None:
            plan, interval = self.chosen
            return f"{reverse('billing_start')}?plan={plan}&interval={interval}"
        return cast(str | None, super().get_default_success_url())


signup = PlanSignupView.as_view()


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Straight from sign-up (or the pricing page) to a paid plan's Checkout: the chosen plan,
    and a button per organization the user owns (a new user has one, their own)."""
    _require_billing()
    chosen = parse_choice(f"{request.GET.get('plan', '')}:{request.GET.get('interval', '')}")
    if chosen is None:
        messages.error(request, "Choose a plan that is for sale.")
        return redirect("pricing")
    plan, interval = chosen
    owned = [m for m in Membership.objects.select_related("organization")
             .filter(user=cast(User, request.user), role=Role.OWNER).order_by("created_at")]
    return render(request, "billing/start.html", {
        "plan": get_plan(plan), "interval": interval, "price": get_plan(plan).price(interval),
        "owned": [(m, selectors.account_of(m.organization)) for m in owned],
        "reachable": stripe_api.enabled(), "live_statuses": sorted(services.LIVE)})


@organization_member_required
def billing_page(request: HttpRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_BILLING)
    organization = membership.organization
    account = selectors.account_of(organization)
    reachable = settings.OP_BILLING_ENABLED and stripe_api.enabled()
    return render(request, "billing/billing.html", {
        "membership": membership, "organization": organization,
        "plan": get_plan(organization.plan), "plans": plans(), "account": account,
        "can_manage": can(membership, Action.MANAGE_BILLING) and reachable,
        "billing_enabled": settings.OP_BILLING_ENABLED, "reachable": reachable,
        "usage": selectors.usage_against_limits(organization),
        "volume": selectors.request_volume(organization, account),
        "invoices": selectors.invoices(account) if reachable else [],
        "payment_method": selectors.payment_method(account) if reachable else None,
        "grace_end": account.grace_ends_at(settings.OP_BILLING_GRACE_DAYS) if account else None,
        "live": account is not None and account.status in services.LIVE,
    })


def _chosen(request: HttpRequest) -> tuple[str, Interval]:
    plan = request.POST.get("plan", "")
    interval = request.POST.get("interval", "monthly")
    if interval not in INTERVALS or not price_id(plan, interval):
        raise services.BillingError("Choose a plan and a billing interval that are for sale.")
    return plan, interval


def billing_action(action: Callable[[HttpRequest, Membership], str | None]
                   ) -> Callable[..., HttpResponse]:
    """An owner's POST that asks Stripe for something: `action` returns where to go next (None:
    back to the billing page). A refused request, or Stripe failing, is shown on the billing
    page and nothing is changed."""

    @require_POST
    @organization_member_required
    @wraps(action)
    def view(request: HttpRequest, membership: Membership) -> HttpResponse:
        _require_billing()
        require(membership, Action.MANAGE_BILLING)
        back = redirect("billing", slug=membership.organization.slug)
        try:
            target = action(request, membership)
        except services.BillingError as error:
            messages.error(request, str(error))
            return back
        except (stripe.StripeError, stripe_api.BillingDisabled) as error:
            logger.exception("billing action for %s failed", membership.organization.slug)
            messages.error(request, f"Stripe could not be reached or refused the request "
                                    f"({error}). Nothing was changed; try again in a moment.")
            return back
        return redirect(target) if target else back

    return view


@billing_action
def checkout(request: HttpRequest, membership: Membership) -> str:
    """Start Stripe Checkout for a paid plan (owners)."""
    organization = membership.organization
    plan, interval = _chosen(request)
    back = request.build_absolute_uri(reverse("billing_success", args=[organization.slug]))
    return services.start_checkout(
        organization, cast(User, request.user), plan, interval,
        success_url=f"{back}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=request.build_absolute_uri(
            reverse("billing_cancelled", args=[organization.slug])))


@billing_action
def change(request: HttpRequest, membership: Membership) -> None:
    """Move the subscription to another paid plan or interval (prorated)."""
    plan, interval = _chosen(request)
    services.change_plan(membership.organization, plan, interval)
    messages.success(request, f"Now on the {get_plan(plan).name} plan, billed {interval}; "
                              "Stripe prorates the difference.")


@billing_action
def cancel(request: HttpRequest, membership: Membership) -> None:
    """Cancel at the end of the period (back to Free then), or undo that."""
    undo = request.POST.get("undo") == "1"
    account = services.cancel_at_period_end(membership.organization, cancel=not undo)
    end = f"{account.current_period_end:%Y-%m-%d}" if account.current_period_end else "the end"
    messages.success(request, "The subscription continues." if undo else
                     f"The subscription ends on {end}; then the organization is on Free. "
                     "Nothing is deleted.")


@billing_action
def portal(request: HttpRequest, membership: Membership) -> str:
    """Stripe's Customer Portal: payment methods, invoices, cancelling."""
    return services.portal_url(membership.organization, request.build_absolute_uri(
        reverse("billing", args=[membership.organization.slug])))


@organization_member_required
def success(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Back from Checkout. The webhook usually got here first; if not, ask Stripe now."""
    require(membership, Action.VIEW_BILLING)
    account = selectors.account_of(membership.organization)
    if account is not None and account.status not in services.LIVE and stripe_api.enabled():
        try:
            services.refresh_account(account)
        except stripe.StripeError:
            logger.exception("refresh after checkout failed; the webhook will tell")
    membership.organization.refresh_from_db(fields=["plan"])
    return render(request, "billing/success.html", {
        "membership": membership, "organization": membership.organization,
        "plan": get_plan(membership.organization.plan), "account": account})


@organization_member_required
def cancelled(request: HttpRequest, membership: Membership) -> HttpResponse:
    require(membership, Action.VIEW_BILLING)
    return render(request, "billing/cancelled.html", {
        "membership": membership, "organization": membership.organization})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verified on the raw body, stored once, answered at once, processed by
    a task. A bad or stale signature: 400, nothing stored."""
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event, new = webhooks.receive(request.body, signature)
    except stripe.SignatureVerificationError:
        return JsonResponse({"error": {"code": "bad_signature", "message":
                             "The Stripe-Signature header does not sign this body with this "
                             "endpoint's secret within the tolerance.", "details": {}}},
                            status=400)
    except (ValueError, KeyError, AttributeError, TypeError, DataError):  # signed, not an event
        return JsonResponse({"error": {"code": "bad_payload", "message":
                             "The body is not a Stripe event.", "details": {}}}, status=400)
    if new:  # the task by its name: the tasks import this app's modules, not the reverse
        enqueue(current_app.tasks[webhooks.PROCESS_TASK], [event.pk])
    return JsonResponse({"received": True, "duplicate": not new})
