"""The observation table, created by hand because it differs per database.

PostgreSQL: declaratively range-partitioned by month on source_ts (Django cannot create
partitioned tables), with a DEFAULT partition; the primary key has to include the partition
key, and UNIQUE NULLS NOT DISTINCT makes a NULL round_id count as a value.
SQLite: the plain table Django would create, plus a COALESCE unique index standing in for
NULLS NOT DISTINCT. Django's migration state is the model's, so makemigrations stays quiet.
"""
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import apps.feeds.fields

POSTGRESQL = """
CREATE SEQUENCE feeds_priceobservation_id_seq AS bigint;
CREATE TABLE feeds_priceobservation (
    id bigint NOT NULL DEFAULT nextval('feeds_priceobservation_id_seq'),
    feed_id bigint NOT NULL
        REFERENCES feeds_feed (id) DEFERRABLE INITIALLY DEFERRED,
    raw_answer numeric(78,0) NOT NULL,
    decimals smallint NOT NULL CHECK (decimals >= 0),
    price numeric NOT NULL,
    source_ts timestamp with time zone NOT NULL,
    fetched_at timestamp with time zone NOT NULL,
    round_id numeric(78,0) NULL,
    confidence numeric NULL,
    block_number bigint NULL,
    verified boolean NULL,
    PRIMARY KEY (id, source_ts),
    CONSTRAINT observation_feed_ts_round
        UNIQUE NULLS NOT DISTINCT (feed_id, source_ts, round_id)
) PARTITION BY RANGE (source_ts);
ALTER SEQUENCE feeds_priceobservation_id_seq OWNED BY feeds_priceobservation.id;
CREATE TABLE feeds_priceobservation_default PARTITION OF feeds_priceobservation DEFAULT;
"""

SQLITE_UNIQUE = (
    "CREATE UNIQUE INDEX observation_feed_ts_round "
    "ON feeds_priceobservation (feed_id, source_ts, COALESCE(round_id, ''))"
)


def create_table(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
        return
    schema_editor.create_model(apps.get_model("feeds", "PriceObservation"))
    schema_editor.execute(SQLITE_UNIQUE)


def drop_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE feeds_priceobservation")


class Migration(migrations.Migration):

    dependencies = [
        ("feeds", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PriceObservation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('raw_answer', apps.feeds.fields.HugeIntegerField(help_text='The integer answer exactly as the source gave it')),
                        ('decimals', models.PositiveSmallIntegerField()),
                        ('price', apps.feeds.fields.ExactDecimalField(help_text='raw_answer / 10**decimals, exact')),
                        ('source_ts', models.DateTimeField(help_text='When the source says the price was valid')),
                        ('fetched_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('round_id', apps.feeds.fields.HugeIntegerField(blank=True, null=True)),
                        ('confidence', apps.feeds.fields.ExactDecimalField(blank=True, null=True)),
                        ('block_number', models.BigIntegerField(blank=True, null=True)),
                        ('verified', models.BooleanField(blank=True, null=True)),
                        ('feed', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='observations', to='feeds.feed')),
                    ],
                ),
                migrations.AddConstraint(
                    model_name='priceobservation',
                    constraint=models.UniqueConstraint(fields=('feed', 'source_ts', 'round_id'), name='observation_feed_ts_round', nulls_distinct=False),
                ),
            ],
            database_operations=[],
        ),
        # A separate step so that it sees the state above.
        migrations.RunPython(create_table, drop_table),
    ]
