"""Celery discovers tasks in ``<app>.tasks``; the integration tasks live beside their packages."""
