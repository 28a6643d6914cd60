"""Settings for the test suite: a throw-away data dir, tasks run inline, mail captured."""

import hashlib
import os
import tempfile

os.environ.setdefault("TSUNAGU_DATA_DIR", tempfile.mkdtemp(prefix="tsunagu-test-"))
os.environ.setdefault("TSUNAGU_EMAIL_URL", "capture://")

from tsunagu.settings import *  # noqa: E402,F403

HUEY = {"name": "tsunagu-test", "immediate": True, "huey_class": "huey.MemoryHuey"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A test database of this checkout's own on PostgreSQL (pytest-django creates and drops it): two checkouts
# tested at once on one server must not share `test_postgres`.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    _checkout = hashlib.sha256(str(PACKAGE_DIR).encode()).hexdigest()[:8]  # noqa: F405
    _name = os.environ.get("TSUNAGU_TEST_DATABASE_NAME") or f"test_tsunagu_{_checkout}"
    DATABASES["default"]["TEST"] = {"NAME": _name}  # noqa: F405
    # A commit need not wait for the disk in a database that is thrown away (6 ms each on a small VM, and the
    # transactional tests commit thousands of times); what other connections see is the same.
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = f"{_options.get('options', '')} -c synchronous_commit=off".strip()
