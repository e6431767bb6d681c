"""A frozen cohort cannot change: model, queryset and database all refuse."""
from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from training.models import Cohort, CohortImmutable, CohortStudy
from training.services.cohorts import cohort_freeze, cohort_spec_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(protocol, confirmed, scientist):
    return cohort_freeze(spec=cohort_spec_build(protocol=protocol, data={"name": "frozen"}), actor=scientist)


def test_model_refuses_save_and_delete(cohort):
    cohort.name = "renamed"
    with pytest.raises(CohortImmutable):
        cohort.save()
    with pytest.raises(CohortImmutable):
        cohort.delete()
    row = cohort.rows.first()
    row.split = "test"
    with pytest.raises(CohortImmutable):
        row.save()
    with pytest.raises(CohortImmutable):
        row.delete()


def test_querysets_refuse_bulk_update_and_delete(cohort):
    with pytest.raises(CohortImmutable):
        CohortStudy.objects.filter(cohort=cohort).update(split="train")
    with pytest.raises(CohortImmutable):
        CohortStudy.objects.filter(cohort=cohort).delete()
    with pytest.raises(CohortImmutable):
        Cohort.objects.filter(pk=cohort.pk).update(sha256="0" * 64)
    with pytest.raises(CohortImmutable):
        Cohort.objects.all().delete()


def test_the_database_refuses_a_raw_update(cohort):
    for sql in (
        "UPDATE training_cohortstudy SET split = 'test' WHERE cohort_id = %s",
        "UPDATE training_cohort SET sha256 = 'x' WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [cohort.pk])
    cohort.refresh_from_db()
    assert len(cohort.sha256) == 64
    assert cohort.sha256 != "x"


def test_the_database_lets_a_deleted_user_go(cohort, scientist):
    """created_by is SET_NULL: deleting the user is the one update a cohort takes."""
    scientist.memberships.all().delete()
    scientist.delete()
    cohort.refresh_from_db()
    assert cohort.created_by is None
