"""Reading the editors' admin through the test client."""

from bs4 import BeautifulSoup
from django.test import Client


def signed_in(user):
    """A client of its own signed in as ``user``: two editors at once need two."""
    client = Client()
    client.force_login(user)
    return client


def error_text(response):
    """The page's error note and field errors, as one line of text."""
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return " ".join(n.get_text(" ", strip=True) for n in soup.select(".errornote, .errorlist"))


def fill_entry(data, index, **fields):
    """Set the fields of inline entry row ``index`` in an issue form's data."""
    for name, value in fields.items():
        data[f"entries-{index}-{name}"] = value


def edit_entry(client, entry, **changes):
    """Change an entry through its admin page, as an editor's browser posts the form."""
    from django.urls import reverse

    from bench.common.admin_form import form_data

    url = reverse("admin:papers_entry_change", args=[entry.pk])
    data = form_data(client.get(url), "entry_form")
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, error_text(response) or response.content.decode()[:2000]
    return response
