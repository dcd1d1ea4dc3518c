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
