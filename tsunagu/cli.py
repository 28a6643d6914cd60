"""The `tsunagu` console script: the public command line (see DESIGN.md, "Public contract")."""

from __future__ import annotations

import os
import sys

USAGE = """usage: tsunagu COMMAND [options]

commands:
  serve [--bind HOST:PORT]     migrate if needed, then run web server, queue worker and scheduler together
  web [--bind HOST:PORT]       the web server alone (scale-out)
  worker [--workers N]         the queue worker alone (scale-out; run many)
  scheduler                    the scheduler alone (scale-out; run exactly one)
  demo [--if-new]              load a demo company and print a console login
  company create --name NAME --slug SLUG [--delay-minutes N] [--send-window business|always]
  user create --company SLUG --email E --password P [--role admin|recruiter|viewer]
  manage COMMAND ...           any Django management command (migrate, createsuperuser, ...)

Run `tsunagu COMMAND --help` for a command's options.
Environment: TSUNAGU_DATA_DIR, TSUNAGU_DATABASE_URL, TSUNAGU_BASE_URL, TSUNAGU_EMAIL_URL,
TSUNAGU_QUEUE_URL, TSUNAGU_SECRET_KEY, TSUNAGU_DEBUG (see README.md)."""

# Public names mapped onto Django management commands.
COMMANDS = {"serve", "web", "worker", "scheduler", "demo", "company", "user", "import-csv", "ats"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    if args[0] in {"--version", "version"}:
        from tsunagu import __version__

        print(__version__)
        return 0
    if args[0] == "manage":
        args = args[1:] or ["help"]
    elif args[0] in COMMANDS:
        args[0] = args[0].replace("-", "_")
    else:
        print(f"tsunagu: unknown command {args[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
    from tsunagu.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        print(f"tsunagu: configuration error: {exc}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tsunagu", *args])
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
