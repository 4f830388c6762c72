from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User
from .services import ensure_personal_organization


@receiver(post_save, sender=User, dispatch_uid="accounts.personal_organization")
def give_new_user_a_personal_organization(sender, instance: User, created: bool, raw: bool, **kw):
    # Every way a user comes to exist (sign-up, createsuperuser, admin) gets one.
    if created and not raw:
        ensure_personal_organization(instance)
