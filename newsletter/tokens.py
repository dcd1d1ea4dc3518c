"""Signed links: what stands in for an account.

A confirmation link expires (``CONFIRMATION_MAX_AGE``); the preferences and
unsubscribe links in a mail keep working as long as the subscriber exists and
keeps its key, since people unsubscribe from old mails. Each kind of link has
its own salt, so one cannot be replayed as another.
"""

import datetime

from django.core import signing

CONFIRMATION_MAX_AGE = datetime.timedelta(days=7)
_CONFIRM_SALT = "newsletter.confirm"
_MANAGE_SALT = "newsletter.manage"


class BadLink(Exception):
    """A link that was altered, has expired, or belongs to no subscriber any more."""


def confirmation_token(subscriber):
    return signing.TimestampSigner(salt=_CONFIRM_SALT).sign(subscriber.key)


def manage_token(subscriber):
    return signing.Signer(salt=_MANAGE_SALT).sign(subscriber.key)


def subscriber_for_confirmation(token):
    try:
        key = signing.TimestampSigner(salt=_CONFIRM_SALT).unsign(
            token, max_age=CONFIRMATION_MAX_AGE
        )
    except signing.BadSignature as error:  # SignatureExpired is a BadSignature
        raise BadLink from error
    return _subscriber(key)


def subscriber_for_management(token):
    try:
        key = signing.Signer(salt=_MANAGE_SALT).unsign(token)
    except signing.BadSignature as error:
        raise BadLink from error
    return _subscriber(key)


def _subscriber(key):
    from .models import Subscriber

    try:
        return Subscriber.objects.get(key=key)
    except Subscriber.DoesNotExist as error:
        raise BadLink from error
