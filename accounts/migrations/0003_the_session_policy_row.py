from django.db import migrations


def create_policy(apps, schema_editor):
    apps.get_model("accounts", "SessionPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_session_policy")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
