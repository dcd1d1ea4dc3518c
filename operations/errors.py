"""What the operations commands refuse, said once for all of them."""


class ArchiveNotEmpty(Exception):
    """The database already holds an archive, and this work only fills an empty one
    (a restore without ``--force``, the synthetic archive).

    ``rows`` is ``{model label: count}`` of what is in the way; each command
    words its own refusal from it.
    """

    def __init__(self, rows):
        super().__init__(rows)
        self.rows = rows
