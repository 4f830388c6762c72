import threading

from django.conf import settings

from oracle_platform.schedule import PeriodicTask
from oracle_platform.scheduler import InProcessScheduler

calls: list[str] = []
ran = threading.Event()


def record_call() -> None:
    calls.append("ran")
    ran.set()


def explode() -> None:
    raise RuntimeError("task failed")


def test_celery_beat_and_the_in_process_scheduler_share_one_task_list():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert set(schedule) == {t.entry for t in settings.OP_PERIODIC_TASKS}
    assert schedule["protocols.sync_chain:ethereum"]["args"] == ("ethereum",)
    from oracle_platform.celery import app

    app.loader.import_default_modules()
    for task in settings.OP_PERIODIC_TASKS:
        # The Celery task registered under the beat name is the function the scheduler calls.
        assert task.name in app.tasks
        assert app.tasks[task.name].__module__ + "." + app.tasks[task.name].__name__ == task.path


def test_a_failing_task_is_logged_and_does_not_stop_the_scheduler(caplog):
    scheduler = InProcessScheduler([
        PeriodicTask("boom", "tests.test_scheduler.explode", 3600),
        PeriodicTask("ok", "tests.test_scheduler.record_call", 3600),
    ])
    scheduler.start()
    try:
        assert ran.wait(5)
    finally:
        scheduler.stop()
    assert calls
    assert "periodic task boom failed" in caplog.text


def test_beat_keeps_sub_second_and_fractional_intervals_exact(db):
    from datetime import timedelta

    from oracle_platform.beat import Entry

    quarter, field = Entry.to_model_schedule(0.25)
    quarter.refresh_from_db()
    assert (quarter.every, quarter.period) == (250_000, "microseconds")  # not 0 seconds
    assert field == "interval" and quarter.schedule.run_every == timedelta(milliseconds=250)
    one_and_a_half, _ = Entry.to_model_schedule(1.5)
    one_and_a_half.refresh_from_db()
    assert one_and_a_half.schedule.run_every == timedelta(seconds=1.5)
    whole, _ = Entry.to_model_schedule(600.0)
    assert (whole.every, whole.period) == (600, "seconds")
