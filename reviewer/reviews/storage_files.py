"""Reading stored uploads wherever the storage keeps them.

The packer, pypdf and zipfile want a path on this host. With the local file system the
stored file is one; with a bucket (MEDIA_STORAGE=s3) the web host that received an
upload and the worker that packs it share no disk, so the file is streamed from the
bucket into a temporary file under FILE_UPLOAD_TEMP_DIR, which is removed when the
block ends, also when it ends with an exception."""

import contextlib
import os
import shutil
import tempfile

from django.conf import settings

CHUNK_BYTES = 1024 * 1024


class StoredFileUnreadable(OSError):
    """A stored file could not be copied to this host (lost, or the bucket failed)."""


def is_local(storage):
    """Whether the storage can name a path on this host for its files."""
    try:
        storage.path("probe")
    except NotImplementedError:
        return False
    return True


@contextlib.contextmanager
def local_copy(fieldfile):
    """Yields a path on this host holding `fieldfile`'s content (a FieldFile or anything
    with `.storage` and `.name`): the stored file itself when the storage is local,
    otherwise a temporary download that is deleted afterwards."""
    storage, name = fieldfile.storage, fieldfile.name
    if is_local(storage):
        yield storage.path(name)
        return
    temp_dir = settings.FILE_UPLOAD_TEMP_DIR
    os.makedirs(temp_dir, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="stored-", dir=temp_dir)
    try:
        with os.fdopen(handle, "wb") as out:
            _download(storage, name, out)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _download(storage, name, out):
    bucket = getattr(storage, "bucket", None)
    if bucket is not None and hasattr(storage, "transfer_config"):
        # Straight from the bucket into the file, in ranged parts above the threshold;
        # the storage's own open() would first spool the whole object once more.
        from botocore.exceptions import BotoCoreError, ClientError
        from storages.utils import clean_name

        key = storage._normalize_name(clean_name(name))
        try:
            bucket.Object(key).download_fileobj(out, Config=storage.transfer_config)
        except (BotoCoreError, ClientError) as exc:
            # Callers treat a stored file that cannot be read as they treat a lost one.
            raise StoredFileUnreadable(f"could not read {name} from the bucket: {exc}") from exc
        return
    try:
        with storage.open(name, "rb") as source:
            shutil.copyfileobj(source, out, CHUNK_BYTES)
    except OSError as exc:
        raise StoredFileUnreadable(f"could not read {name}: {exc}") from exc
