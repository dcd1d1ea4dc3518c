"""A mail backend for one machine: each message becomes an .eml file in a folder.

Django's file backend appends every message of a connection to one .log
file; a newcomer wants one message per file that a mail client opens, named
so that the newest sorts last.
"""

import itertools
import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_sequence = itertools.count()
_lock = threading.Lock()


class EmlFolderBackend(BaseEmailBackend):
    def __init__(self, folder=None, **kwargs):
        super().__init__(**kwargs)
        self.folder = Path(folder or settings.MAIL_FOLDER)

    def send_messages(self, email_messages):
        self.folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            with _lock:
                number = next(_sequence)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
            path = self.folder / f"{stamp}-{os.getpid()}-{number}.eml"
            partial = path.with_suffix(".part")
            partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
            partial.rename(path)  # a reader never sees half a file
        return len(email_messages)
