"""What the console's data migrations share: giving the agent groups new permissions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_to_groups(permissions: Sequence[tuple[str, str]], groups: Sequence[str]) -> migrations.RunPython:
    """A migration operation giving ``groups`` the ``(app_label, codename)`` ``permissions``, and
    taking them back when reversed. Groups an admin deleted are not recreated here
    (``console_groups_ensure`` does that)."""
    app_labels = sorted({app_label for app_label, _ in permissions})

    def forwards(apps: Any, schema_editor: Any) -> None:
        db = schema_editor.connection.alias
        # Permissions are normally created after all migrations (post_migrate); create them now.
        for app_label in app_labels:
            app_config = apps.get_app_config(app_label)
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0, using=db)
            app_config.models_module = None
        found = [
            apps.get_model("auth", "Permission")
            .objects.using(db)
            .get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in permissions
        ]
        for group in apps.get_model("auth", "Group").objects.using(db).filter(name__in=groups):
            group.permissions.add(*found)

    def backwards(apps: Any, schema_editor: Any) -> None:
        db = schema_editor.connection.alias
        Permission = apps.get_model("auth", "Permission")
        found = [
            permission
            for app_label, codename in permissions
            for permission in Permission.objects.using(db).filter(
                content_type__app_label=app_label, codename=codename
            )
        ]
        for group in apps.get_model("auth", "Group").objects.using(db).filter(name__in=groups):
            group.permissions.remove(*found)

    return migrations.RunPython(forwards, backwards)
