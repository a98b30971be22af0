"""The production settings plus one route, the dashboard's baseline (``bench/urls.py``).

gunicorn runs with ``DJANGO_SETTINGS_MODULE=bench.settings``: the same middleware, session
engine, authentication and cache as ``portal.settings``; only the URLconf adds the baseline.
"""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
