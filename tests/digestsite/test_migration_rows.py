"""The rows the migrations write (the roles, the glossary) are there for every
test, whichever tests ran before it on the same worker: a test that flushes
the database (a TransactionTestCase: live server, browser, threads) gets them
put back by tests/conftest.py. The two tests below run in this order (same
kind, same file, so the same worker under --dist loadfile); the second fails
if the first's flush is not undone."""

import pytest
from django.contrib.auth.models import Group

from papers.models import GlossaryTerm


def migration_rows():
    return (
        set(Group.objects.values_list("name", flat=True)),
        Group.objects.get(name="Publisher").permissions.count(),
        GlossaryTerm.objects.count(),
    )


@pytest.mark.django_db(transaction=True)
def test_a_test_that_flushes_the_database_sees_the_migrations_rows():
    groups, publisher_permissions, terms = migration_rows()
    assert {"Editor", "Publisher"} <= groups
    assert publisher_permissions > 0
    assert terms > 0
    GlossaryTerm.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_the_next_test_sees_them_again():
    groups, publisher_permissions, terms = migration_rows()
    assert {"Editor", "Publisher"} <= groups
    assert publisher_permissions > 0
    assert terms > 0
