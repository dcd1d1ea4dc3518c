"""The rows the migrations write (the roles, the glossary) are there for every
test, whichever tests ran before it on the same worker: a test that flushes
the database (a TransactionTestCase: live server, browser, threads) gets them
put back by tests/conftest.py. The two tests below run in this order (same
kind, same file, so the same worker under --dist loadfile); the second fails
if the first's flush is not undone."""

import pytest
from django.contrib.auth.models import Group

from papers.models import GlossaryTerm


def assert_the_migrations_rows_are_there():
    assert {"Editor", "Publisher"} <= set(Group.objects.values_list("name", flat=True))
    assert Group.objects.get(name="Publisher").permissions.exists()
    assert GlossaryTerm.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_test_that_flushes_the_database_sees_the_migrations_rows():
    assert_the_migrations_rows_are_there()
    GlossaryTerm.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_the_next_test_sees_them_again():
    assert_the_migrations_rows_are_there()
