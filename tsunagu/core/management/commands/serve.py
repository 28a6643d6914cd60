import signal
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tsunagu.core import runtime


class Command(BaseCommand):
    help = "Migrate if needed, then run web server, queue worker and scheduler in one process."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)")
        parser.add_argument("--workers", type=int, default=None, help="queue worker threads")

    def handle(self, *args, bind, workers, **options):
        try:
            host, port = runtime.parse_bind(bind)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        call_command("migrate", interactive=False, verbosity=0)
        consumer = runtime.create_consumer(workers)
        consumer.start()
        stop = threading.Event()
        scheduler = threading.Thread(target=runtime.scheduler_loop, args=(stop,), name="scheduler", daemon=True)
        scheduler.start()
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        self.stdout.write(f"Tsunagu is serving on http://{host}:{port}/ (console: {settings.BASE_URL}/console/)")
        self.stdout.flush()
        try:
            runtime.run_web(host, port)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            consumer.stop(graceful=True)
