"""`manage.py serve`: the one-process local server used by `make run`.

HTTP and WebSockets from uvicorn plus the in-process scheduler, so the in-memory channel
layer and the local-memory cache are shared by everything and no Redis is needed.
"""
import threading

import uvicorn
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.common.processes import spawn_manage, stop
from apps.protocols.streams import start_streams
from oracle_platform.scheduler import InProcessScheduler


class Command(BaseCommand):
    help = "Serve HTTP + WebSocket and run the periodic tasks in this one process."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not run periodic tasks here."
        )
        parser.add_argument(
            "--devnet", action="store_true",
            help="Also run `manage.py devnet` (the local simulated market) next to the server.",
        )

    def handle(
        self, *args, host: str, port: int, no_scheduler: bool, devnet: bool, **options
    ) -> None:
        if devnet and not apps.is_installed("apps.devnet"):
            raise CommandError("--devnet needs the devnet's settings: OP_NETWORK=devnet under "
                               "oracle_platform.settings.local")
        # One process, no Celery worker: queued work runs on a background thread here.
        settings.OP_RUN_TASKS_INLINE = False
        settings.OP_TASKS_MODE = "background"
        # Its own process: the market loop and the history seeding stay off this one's GIL.
        devnet_process = spawn_manage("devnet") if devnet else None
        scheduler = None
        streams_stop = threading.Event()
        if settings.OP_SCHEDULER_ENABLED and not no_scheduler:
            scheduler = InProcessScheduler()
            scheduler.start()
            start_streams(settings.OP_STREAMS, streams_stop)
        self.stdout.write(f"Serving on http://{host}:{port}/ (Ctrl-C stops)")
        try:
            uvicorn.run(
                "oracle_platform.asgi:application",
                host=host,
                port=port,
                log_level="info",
                lifespan="off",
                ws="websockets-sansio",
            )
        finally:
            streams_stop.set()
            if scheduler:
                scheduler.stop()
            stop(devnet_process)
