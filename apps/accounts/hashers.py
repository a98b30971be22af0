"""Password hashing."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane) instead of Django's (100 MiB,
    8 lanes), which cost every sign-in about 100 MiB and half a second: a handful of concurrent
    logins could exhaust a web machine. Same ``algorithm``, so a hash made with the old
    parameters still verifies and is re-made with these at the next sign-in (``must_update``)."""

    time_cost = 2
    memory_cost = 19456
    parallelism = 1
