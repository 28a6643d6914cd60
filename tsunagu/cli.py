"""The `tsunagu` console script: the public command line (see DESIGN.md, "Public contract")."""

from __future__ import annotations

import os
import sys

from tsunagu import __version__
from tsunagu.config import ConfigError

USAGE = """usage: tsunagu COMMAND [options]

commands:
  serve [--bind HOST:PORT]     migrate if needed, then run web server, queue worker and scheduler together
  web [--bind HOST:PORT]       the web server alone (scale-out)
  worker [--workers N]         the queue worker alone (scale-out; run many)
  scheduler                    the scheduler alone (scale-out; run exactly one)
  demo [--if-new]              load a demo company and print a console login
  company create --name NAME --slug SLUG [--delay-minutes N] [--send-window business|always]
  user create --company SLUG --email E --password P [--role admin|recruiter|viewer]
  ats add --company SLUG --kind greenhouse|lever|ashby|workable|generic --secret S [--api-key K]
  import-csv --company SLUG FILE [--dry-run] [--json]
  relay contract --company SLUG --ratio N [--fee-yen N]
                               the relay operator's contract with a company (prints JSON)
  operator key                 a key for the relay operator's API (prints JSON)
  secrets new-key|rotate       add an encryption key for stored secrets; re-encrypt them with the newest
  security unlock EMAIL|--ip ADDRESS
                               lift a login lockout early (`security lockouts` lists them)
  security reset-2fa EMAIL     remove a user's authenticator app (a lost phone)
  backup PATH                  copy the data dir into PATH while serving: the SQLite databases through
                               SQLite's online backup API, and the key files (PostgreSQL: pg_dump, see README)
  privacy purge [--dry-run] [--json]
                               erase the people whose retention period has ended (the scheduler does it hourly)
  privacy export --company SLUG --format zip|json --output PATH
                               write all of a company's data to a new file (prints JSON)
  manage COMMAND ...           any Django management command (migrate, createsuperuser, ...)

Run `tsunagu COMMAND --help` for a command's options.
Environment: TSUNAGU_DATA_DIR, TSUNAGU_DATABASE_URL, TSUNAGU_BASE_URL, TSUNAGU_EMAIL_URL,
TSUNAGU_QUEUE_URL, TSUNAGU_SECRET_KEY, TSUNAGU_ENCRYPTION_KEY, TSUNAGU_DEBUG (see README.md)."""

# Public names mapped onto Django management commands.
COMMANDS = {"serve", "web", "worker", "scheduler", "demo", "company", "user", "import-csv", "ats", "relay", "operator",
            "secrets", "security", "backup", "privacy"}
# One-shot commands bring the database schema up to date first, so a fresh data dir just works.
# The scale-out processes do not (many of them starting at once must not race to migrate): they refuse.
MIGRATE_FIRST = {"serve", "demo", "company", "user", "import_csv", "ats", "relay", "operator", "secrets",
                 "security", "privacy"}
NEED_SCHEMA = {"web", "worker", "scheduler"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    if args[0] in {"--version", "version"}:
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
    try:
        import django

        django.setup()
    except ConfigError as exc:
        print(f"tsunagu: configuration error: {exc}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    wants_help = any(arg in {"-h", "--help"} for arg in args)
    if args[0] in MIGRATE_FIRST and not wants_help and _unapplied_migrations():
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    elif args[0] in NEED_SCHEMA and not wants_help and _unapplied_migrations():
        print("tsunagu: the database schema is not up to date; run `tsunagu manage migrate` once first.",
              file=sys.stderr)
        return 2
    execute_from_command_line(["tsunagu", *args])
    return 0


def _unapplied_migrations() -> bool:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
