"""Database triggers record every change of a tracked table, however it is made (promise 6).

Runs on SQLite and on PostgreSQL (DATABASE_URL=postgres://...); the acting user is recorded on
PostgreSQL only.
"""
from __future__ import annotations

import pytest
from django.apps import apps as django_apps
from django.db import DatabaseError, connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from annotation.models import Confirmation, Label, Phrase
from config.history import history_after_migrate, history_before_migrate
from config.models import HistoryOperation, RowHistory
from reports.models import Membership, Protocol
from tests.annotation.factories import LabelFactory, LabelSchemaFactory, PhraseFactory
from tests.reports.factories import MembershipFactory, ReportFactory, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


def history(model, pk) -> list[RowHistory]:
    return list(RowHistory.objects.filter(table_name=model._meta.db_table, row_id=pk).order_by("id"))


def test_an_orm_save_records_the_insert_and_the_update_with_before_and_after():
    phrase = PhraseFactory(text="effusion")
    phrase.text = "pleural effusion"
    phrase.save()
    inserted, updated = history(Phrase, phrase.pk)
    assert inserted.operation == HistoryOperation.INSERT
    assert inserted.before is None
    assert inserted.after["text"] == "effusion"
    assert inserted.after["label_id"] == phrase.label_id
    assert updated.operation == HistoryOperation.UPDATE
    assert (updated.before["text"], updated.after["text"]) == ("effusion", "pleural effusion")
    assert updated.at >= inserted.at


def test_a_queryset_update_records_every_row_it_changed():
    phrases = [PhraseFactory(enabled=True) for _ in range(3)]
    untouched = PhraseFactory(enabled=True)
    changed = Phrase.objects.filter(pk__in=[p.pk for p in phrases]).update(enabled=False)
    assert changed == 3
    for phrase in phrases:
        update = history(Phrase, phrase.pk)[-1]
        assert update.operation == HistoryOperation.UPDATE
        assert update.before["enabled"] is True
        assert update.after["enabled"] is False
    assert [h.operation for h in history(Phrase, untouched.pk)] == [HistoryOperation.INSERT]


def test_an_update_that_changes_nothing_records_nothing():
    phrase = PhraseFactory(text="edema")
    Phrase.objects.filter(pk=phrase.pk).update(text="edema")
    assert [h.operation for h in history(Phrase, phrase.pk)] == [HistoryOperation.INSERT]


def test_bulk_create_records_each_inserted_row():
    schema = LabelSchemaFactory()
    labels = Label.objects.bulk_create(Label(schema=schema, name=f"Finding {i}", order=i) for i in range(4))
    for label in labels:
        (inserted,) = history(Label, label.pk)
        assert inserted.operation == HistoryOperation.INSERT
        assert inserted.after["name"] == label.name
        assert inserted.after["schema_id"] == schema.pk


def test_raw_sql_update_and_delete_are_recorded():
    member = MembershipFactory(role="radiologist")
    protocol = member.protocol
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reports_protocol SET title = %s WHERE id = %s", ["Renamed", protocol.pk])
        cursor.execute("DELETE FROM reports_membership WHERE id = %s", [member.pk])
    update = history(Protocol, protocol.pk)[-1]
    assert update.operation == HistoryOperation.UPDATE
    assert update.before["title"] == protocol.title
    assert update.after["title"] == "Renamed"
    deleted = history(Membership, member.pk)[-1]
    assert deleted.operation == HistoryOperation.DELETE
    assert deleted.after is None
    assert deleted.before["user_id"] == member.user_id
    assert deleted.before["role"] == "radiologist"


def test_an_orm_delete_records_the_row_as_it_was():
    label = LabelFactory(name="Fracture")
    label_pk = label.pk
    label.delete()
    deleted = history(Label, label_pk)[-1]
    assert deleted.operation == HistoryOperation.DELETE
    assert deleted.before["name"] == "Fracture"
    assert deleted.after is None


def test_untracked_tables_write_no_history():
    report = ReportFactory()
    assert not RowHistory.objects.filter(table_name="reports_report", row_id=report.pk).exists()


def test_the_app_cannot_rewrite_history():
    row = history(Phrase, PhraseFactory().pk)[0]
    with pytest.raises(PermissionError):
        RowHistory.objects.filter(pk=row.pk).update(operation="DELETE")
    with pytest.raises(PermissionError):
        RowHistory.objects.filter(pk=row.pk).delete()
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()


def assert_raw_update_refused() -> None:
    row = history(Phrase, PhraseFactory().pk)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE radlabel_rowhistory SET operation = 'DELETE' WHERE id = %s", [row.pk])
    row.refresh_from_db()
    assert row.operation == HistoryOperation.INSERT


def test_the_database_refuses_raw_updates_of_history():
    assert_raw_update_refused()


@on_postgresql
def test_postgresql_refuses_raw_deletes_of_history():
    row = history(Phrase, PhraseFactory().pk)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM radlabel_rowhistory WHERE id = %s", [row.pk])
    assert RowHistory.objects.filter(pk=row.pk).exists()


@pytest.fixture
def confirmable(protocol, radiologist):
    schema = LabelSchemaFactory()
    protocol.label_schema = schema
    protocol.save(update_fields=["label_schema"])
    LabelFactory(schema=schema, name="Pneumothorax")
    study = StudyFactory(protocol=protocol)
    ReportFactory(study=study)
    return study


def _post_confirmation(client: Client, study) -> None:
    response = client.post(
        f"/api/v1/studies/{study.pk}/confirmations/",
        {"labels": {"Pneumothorax": "positive"}, "version": study.version},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def _expected_actor(user) -> int | None:
    return user.pk if connection.vendor == "postgresql" else None


def test_a_signed_in_request_records_its_user_on_postgresql(confirmable, radiologist, client_for):
    _post_confirmation(client_for(radiologist), confirmable)
    confirmation = Confirmation.objects.get(study=confirmable)
    (inserted,) = history(Confirmation, confirmation.pk)
    assert inserted.after["reader_id"] == radiologist.pk
    assert inserted.actor_id == _expected_actor(radiologist)


def test_a_token_request_records_its_user_on_postgresql(confirmable, radiologist):
    # DRF authenticates the token inside the view, after every middleware has run.
    token = Token.objects.create(user=radiologist)
    _post_confirmation(Client(HTTP_AUTHORIZATION=f"Token {token.key}"), confirmable)
    confirmation = Confirmation.objects.get(study=confirmable)
    assert history(Confirmation, confirmation.pk)[0].actor_id == _expected_actor(radiologist)


def test_writes_after_the_request_have_no_actor(confirmable, radiologist, client_for):
    _post_confirmation(client_for(radiologist), confirmable)
    phrase = PhraseFactory()
    assert history(Phrase, phrase.pk)[0].actor_id is None


def test_commands_and_tasks_record_no_actor():
    user = UserFactory()
    member = MembershipFactory(user=user)
    assert history(Membership, member.pk)[0].actor_id is None


def test_migrate_reinstalls_the_triggers_it_dropped_for_the_tracked_tables():
    # SQLite refuses to drop a column a trigger names, so migrate lifts them and puts them back.
    history_before_migrate(sender=None, using="default")
    if connection.vendor == "sqlite":
        assert history(Phrase, PhraseFactory().pk) == []
    history_after_migrate(sender=None, using="default", apps=django_apps)
    phrase = PhraseFactory()
    assert [h.operation for h in history(Phrase, phrase.pk)] == [HistoryOperation.INSERT]
    assert_raw_update_refused()


def test_staff_read_a_rows_history_in_the_admin_and_cannot_change_it(client_for, admin_user):
    phrase = PhraseFactory(text="pneumothorax")
    Phrase.objects.filter(pk=phrase.pk).update(text="tension pneumothorax")
    client = client_for(admin_user)
    page = client.get("/admin/radlabel/rowhistory/", {"table_name": "annotation_phrase", "q": phrase.pk})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    row = history(Phrase, phrase.pk)[-1]
    detail = client.get(f"/admin/radlabel/rowhistory/{row.pk}/change/")
    assert detail.status_code == 200
    assert "tension pneumothorax" in detail.content.decode()
    assert client.post(f"/admin/radlabel/rowhistory/{row.pk}/delete/").status_code == 403
    assert client.get("/admin/radlabel/rowhistory/add/").status_code == 403


def test_the_history_admin_is_for_staff_only(client_for, radiologist):
    response = client_for(radiologist).get("/admin/radlabel/rowhistory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
