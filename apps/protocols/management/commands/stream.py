"""`manage.py stream pyth`: the long-lived stream worker of production (one per source)."""
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from apps.protocols.streams import STREAMS


class Command(BaseCommand):
    help = "Run a streaming source (reconnects and backfills by itself) until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help=f"one of: {', '.join(STREAMS)}")

    def handle(self, *args, name: str, **options) -> None:
        if name not in STREAMS:
            raise CommandError(f"unknown stream {name!r}; known: {', '.join(STREAMS)}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            STREAMS[name](stop).run()
        except KeyboardInterrupt:
            stop.set()
