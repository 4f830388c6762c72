"""The Celery app used in production (worker + django-celery-beat).

Under `make run` the same task functions run from the in-process scheduler
(`oracle_platform.scheduler`), so nothing there needs a broker.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oracle_platform.settings.local")

app = Celery("oracle_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
