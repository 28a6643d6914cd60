import signal
import threading

from django.core.management.base import BaseCommand

from tsunagu.core import runtime


class Command(BaseCommand):
    help = "Run the scheduler alone (scale-out: run exactly one). It hands due mail to the queue."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="seconds between sweeps (default 2)")

    def handle(self, *args, interval, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        runtime.scheduler_loop(stop, interval)
