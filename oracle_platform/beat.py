"""Celery beat's scheduler: django-celery-beat's database scheduler, with sub-second and
fractional intervals kept exact. django-celery-beat stores an interval as whole seconds, so a
0.25 s chain poll became 0 — a task sent in a tight loop; it is stored in microseconds here."""
from celery import schedules
from django_celery_beat.models import IntervalSchedule
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry


class Entry(ModelEntry):
    @classmethod
    def to_model_schedule(cls, schedule: object) -> tuple[object, str]:
        parsed = schedules.maybe_schedule(schedule)  # a celery schedule (or crontab, solar…)
        if type(parsed) is schedules.schedule:
            seconds = parsed.run_every.total_seconds()
            if seconds != int(seconds):
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=round(seconds * 1_000_000), period=IntervalSchedule.MICROSECONDS)
                return interval, "interval"
        return super().to_model_schedule(parsed)


class Scheduler(DatabaseScheduler):
    Entry = Entry
