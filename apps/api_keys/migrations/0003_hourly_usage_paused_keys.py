"""Usage in hourly buckets (metered overage is reported per closed hour), and keys paused when a
plan allows fewer of them. Existing daily rows become the day's first hour."""
from datetime import UTC, datetime, time

from django.db import migrations, models


def hours_from_days(apps, schema_editor):
    ApiUsage = apps.get_model("api_keys", "ApiUsage")
    for row in ApiUsage.objects.filter(hour__isnull=True).iterator():
        row.hour = datetime.combine(row.day, time(0), tzinfo=UTC)
        row.save(update_fields=["hour"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("api_keys", "0002_created_by_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="paused_reason",
            field=models.CharField(
                blank=True, max_length=200,
                help_text="Set while the plan allows fewer keys: the key is refused until it "
                          "fits again"),
        ),
        migrations.AddField(model_name="apiusage", name="hour",
                            field=models.DateTimeField(null=True)),
        migrations.RunPython(hours_from_days, migrations.RunPython.noop),
        migrations.AlterField(model_name="apiusage", name="hour",
                              field=models.DateTimeField()),
        migrations.RemoveConstraint(model_name="apiusage", name="api_usage_key_day"),
        migrations.AddConstraint(
            model_name="apiusage",
            constraint=models.UniqueConstraint(fields=("key", "hour"), name="api_usage_key_hour"),
        ),
        migrations.AlterModelOptions(name="apiusage", options={"ordering": ["-hour", "key_id"]}),
        migrations.AddIndex(
            model_name="apiusage",
            index=models.Index(fields=["organization", "hour"], name="api_keys_ap_organiz_hour_idx"),
        ),
    ]
