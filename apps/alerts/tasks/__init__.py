"""The alerts' Celery entry points, thin, each calling the service that does the work: the
evaluation (`tasks.evaluation`) and the sending (`tasks.delivery`) in two modules, so the path
of an alert is evaluation task → services → delivery task → services, each module once. The
services never import these modules: what must run after their commit they enqueue by task
name. Imported here so that Celery's autodiscovery registers every task."""
from . import delivery, evaluation  # noqa: F401
