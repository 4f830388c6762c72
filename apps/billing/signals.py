"""What billing tells the apps above it (they connect receivers in their AppConfig.ready())."""
from django.dispatch import Signal

# Sent inside the transaction that changed Organization.plan, with `organization`, `old_plan`
# and `new_plan` (slugs). Receivers pause what the new plan no longer allows, resume what it
# allows again, and republish the limits the API's throttle reads.
plan_changed = Signal()
