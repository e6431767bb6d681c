"""Row history of labels, phrases, confirmations, memberships and protocols (SECURITY.md promise 6).

The table, then the triggers that fill it and refuse to rewrite it (config/history.py). The
triggers are installed again after every migrate, for the tracked tables as they are then.
"""
from __future__ import annotations

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from config.history import history_install, history_uninstall, tracked_models


def forward(apps, schema_editor) -> None:
    history_install(schema_editor.connection, tracked_models(apps))


def backward(apps, schema_editor) -> None:
    history_uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("reports", "0007_audit_action_registry"),
        ("annotation", "0005_quality"),
        ("training", "0005_cohort_volumes"),
    ]

    operations = [
        migrations.CreateModel(
            name="RowHistory",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("table_name", models.CharField(max_length=64)),
                ("row_id", models.BigIntegerField()),
                (
                    "operation",
                    models.CharField(
                        choices=[("INSERT", "Inserted"), ("UPDATE", "Updated"), ("DELETE", "Deleted")], max_length=6
                    ),
                ),
                ("before", models.JSONField(blank=True, help_text="The row before; empty for an insert.", null=True)),
                ("after", models.JSONField(blank=True, help_text="The row after; empty for a delete.", null=True)),
                ("at", models.DateTimeField(help_text="When the statement that made the change started.")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="The signed-in user of the request (PostgreSQL only); empty for commands and tasks.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "row history",
                "ordering": ["table_name", "row_id", "id"],
                "indexes": [models.Index(fields=["table_name", "row_id"], name="rowhistory_row_idx")],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
