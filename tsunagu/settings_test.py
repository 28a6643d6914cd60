"""Settings for the test suite: a throw-away data dir, tasks run inline, mail captured."""

import os
import tempfile

os.environ.setdefault("TSUNAGU_DATA_DIR", tempfile.mkdtemp(prefix="tsunagu-test-"))
os.environ.setdefault("TSUNAGU_EMAIL_URL", "capture://")

from tsunagu.settings import *  # noqa: E402,F403

HUEY = {"name": "tsunagu-test", "immediate": True, "huey_class": "huey.MemoryHuey"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
