"""The history of labels, phrases, memberships and protocols (SECURITY.md promise 6).

Rows are written by database triggers (config/history.py), never by the app, so bulk updates,
bulk_create and raw SQL are captured as surely as a model's save().
"""
from __future__ import annotations

from django.conf import settings
from django.db import models


class HistoryOperation(models.TextChoices):
    INSERT = "INSERT", "Inserted"
    UPDATE = "UPDATE", "Updated"
    DELETE = "DELETE", "Deleted"


class RowHistoryQuerySet(models.QuerySet["RowHistory"]):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("Row history is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Row history is append-only.")


class RowHistory(models.Model):
    """One INSERT, UPDATE or DELETE of a tracked row: the row before and after, when, and by whom.

    Append-only: the model refuses updates and deletes, and a database trigger refuses them too.
    """

    table_name = models.CharField(max_length=64)
    row_id = models.BigIntegerField()
    operation = models.CharField(max_length=6, choices=HistoryOperation.choices)
    before = models.JSONField(null=True, blank=True, help_text="The row before; empty for an insert.")
    after = models.JSONField(null=True, blank=True, help_text="The row after; empty for a delete.")
    at = models.DateTimeField(help_text="When the statement that made the change started.")
    # No database constraint: deleting a user must neither fail on nor rewrite their history.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The signed-in user of the request (PostgreSQL only); empty for commands and tasks.",
    )

    objects = RowHistoryQuerySet.as_manager()

    class Meta:
        ordering = ["table_name", "row_id", "id"]
        indexes = [models.Index(fields=["table_name", "row_id"], name="rowhistory_row_idx")]
        verbose_name_plural = "row history"

    def __str__(self) -> str:
        return f"{self.operation} {self.table_name}:{self.row_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        raise PermissionError("Row history is written by database triggers only.")

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Row history is append-only.")
