import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pulls", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="pullconfiguration",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="uniq_config_name_ci",
                violation_error_message="A configuration with this name already exists; choose another name.",
            ),
        ),
    ]
