from django.core.management.base import BaseCommand

from tsunagu.core import runtime


class Command(BaseCommand):
    help = "Run the queue worker alone (scale-out: run as many as you like)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=None, help="worker threads (default 4)")

    def handle(self, *args, workers, **options):
        runtime.create_consumer(workers).run()
