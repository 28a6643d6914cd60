from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tsunagu.core.demo import load_demo


class Command(BaseCommand):
    help = "Load a demo company with jobs, candidates and a console login; print the login."

    def add_arguments(self, parser):
        parser.add_argument("--if-new", action="store_true", help="only when the database has no company yet; "
                                                                  "always print the demo login if there is one")

    def handle(self, *args, if_new, **options):
        call_command("migrate", interactive=False, verbosity=0)
        login = load_demo(only_if_new=if_new)
        if login is None:
            return
        self.stdout.write(
            f"\nTsunagu console: {settings.BASE_URL}/console/\n"
            f"  login:    {login['email']}\n"
            f"  password: {login['password']}\n"
        )
        if login.get("operator_email"):  # demo data from before the operator had a login of its own has none
            self.stdout.write(
                f"Relay operator's desk: {settings.BASE_URL}/console/operator/ (asks for an authenticator app)\n"
                f"  login:    {login['operator_email']}\n"
                f"  password: {login['operator_password']}\n"
            )
