import json

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Sum
from django.utils import timezone

from tsunagu.companies import actions


class Command(BaseCommand):
    help = "Sign-in security: list and lift login lockouts, reset a user's second factor."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("lockouts", help="accounts and addresses with failed logins in the cool-off window (JSON)")
        unlock = sub.add_parser("unlock", help="lift the lockout of an account (EMAIL) or of an address (--ip)")
        unlock.add_argument("email", nargs="?", help="the account's e-mail address")
        unlock.add_argument("--ip", help="a client address instead of an account")
        reset = sub.add_parser("reset-2fa", help="remove a user's authenticator (a lost phone); staff must enrol "
                                                 "a new one at their next login")
        reset.add_argument("email")

    def handle(self, *args, action, **options):
        if action == "lockouts":
            self.stdout.write(json.dumps(self.lockouts(), ensure_ascii=False, indent=2))
        elif action == "unlock":
            if bool(options["email"]) == bool(options["ip"]):
                raise CommandError("give either an e-mail address or --ip ADDRESS")
            cleared = actions.unlock_login(username=options["email"], ip_address=options["ip"])
            target = {"email": options["email"].strip().lower()} if options["email"] else {"ip": options["ip"]}
            self.stdout.write(json.dumps({**target, "cleared_records": cleared}))
        else:
            user = get_user_model().objects.filter(username__iexact=options["email"].strip()).first()
            if user is None:
                raise CommandError(f"no user with e-mail address {options['email']!r}")
            removed = actions.remove_second_factor(user)
            self.stdout.write(json.dumps({"email": user.email, "removed_devices": removed}))

    @staticmethod
    def lockouts() -> list[dict]:
        since = timezone.now() - get_cool_off()
        limit = settings.AXES_FAILURE_LIMIT
        rows = []
        for field in ("username", "ip_address"):
            counted = (AccessAttempt.objects.filter(attempt_time__gte=since).exclude(**{f"{field}__isnull": True})
                       .values(field).annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
                       .order_by("-failures"))
            rows += [{"by": "account" if field == "username" else "address", "who": row[field],
                      "failures": row["failures"], "locked": row["failures"] >= limit,
                      "until": (row["last"] + get_cool_off()).isoformat() if row["failures"] >= limit else None}
                     for row in counted]
        return rows
