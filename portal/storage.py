"""Private file storage for customer documents (residence cards)."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages


class PrivateMediaStorage(FileSystemStorage):
    """Files under ``PRIVATE_MEDIA_ROOT``: outside ``MEDIA_ROOT`` and without any URL, so no web
    server can serve them. Staff views stream them after a permission check.

    The location is read from settings on every use (not cached at start-up) so that a test or a
    deployment that moves the folder is honoured by models already loaded.
    """

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no URL; stream them through a permission-checked view.")


def private_storage() -> Storage:
    return storages["private"]
