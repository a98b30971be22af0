"""The content types of the moved WHMCS mirror models follow them from ``integrations`` to
``billing``, so their permissions, whoever was granted them (a group such as the console's, a
user), and the admin's history of these rows stay attached.

On a new database there is nothing to move: Django creates the content types after migrating, and
creates them under ``billing``. Should both labels exist already (a partial ``migrate`` ran in
between and created billing's), the grants and admin history move to billing's and the old
content type is deleted. Reversible: unapplying moves them back.
"""

from django.db import migrations

MODELS = ('whmcsservice', 'whmcsinvoice', 'whmcspaymentmethod')


def _move(apps, schema_editor, source, target):
    db = schema_editor.connection.alias
    ContentType = apps.get_model('contenttypes', 'ContentType')
    Permission = apps.get_model('auth', 'Permission')
    LogEntry = apps.get_model('admin', 'LogEntry')
    for model in MODELS:
        old = ContentType.objects.using(db).filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.using(db).filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(using=db, update_fields=['app_label'])
            continue
        for permission in Permission.objects.using(db).filter(content_type=old):
            twin = Permission.objects.using(db).filter(content_type=new, codename=permission.codename).first()
            if twin is None:
                permission.content_type = new
                permission.save(using=db, update_fields=['content_type'])
            else:
                twin.group_set.add(*permission.group_set.all())
                twin.user_set.add(*permission.user_set.all())
        LogEntry.objects.using(db).filter(content_type=old).update(content_type=new)
        old.delete()
    ContentType.objects.clear_cache()


def forwards(apps, schema_editor):
    _move(apps, schema_editor, 'integrations', 'billing')


def backwards(apps, schema_editor):
    _move(apps, schema_editor, 'billing', 'integrations')


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0001_initial'),
        # Unapplying the move of the models also moves their content types back.
        ('integrations', '0006_whmcs_mirror_moved_to_billing'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('admin', '0003_logentry_add_action_flag_choices'),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
