from django.core.management.base import BaseCommand, CommandError

from tsunagu.core import runtime


class Command(BaseCommand):
    help = "Run the web server alone (scale-out)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)")
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, bind, threads, **options):
        try:
            host, port = runtime.parse_bind(bind)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Tsunagu web on http://{host}:{port}/")
        self.stdout.flush()
        try:
            runtime.run_web(host, port, threads=threads)
        except KeyboardInterrupt:
            pass
