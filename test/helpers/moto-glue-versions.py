"""moto's server with Glue's optimistic lock on tables: UpdateTable honours VersionId. For tests only.

Why: the commit point of an Iceberg table in Glue is UpdateTable with the VersionId the committer read
(apps/iceberg/glue-catalog.ts, as Apache Iceberg's GlueTableOperations.persistGlueTable). moto (5.2.1 installed
here; 5.2.5 and moto-ext 5.1.54, the newest on PyPI, read the same) ignores VersionId: GlueResponse.update_table
never passes it on and GlueBackend.update_table always writes a new version. Checked with boto3 against
`python3 -m moto.server`: a second UpdateTable naming the stale VersionId "1" was accepted and moved the table to
version 3. A commit race tested on plain moto would pass with a broken guard, or lose appends through no fault of
the code under test.

What AWS does (and this patch does): UpdateTable's VersionId is "the version ID at which to update the table
contents" (Glue API reference, UpdateTable, https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateTable.html);
a request naming a version that is no longer the table's current one fails with ConcurrentModificationException,
"Update table failed due to concurrent modifications." (the error AWS returns, quoted in apache/iceberg#8636 and
reproduced with the AWS CLI in floci-io/floci#1205; Iceberg's docs, "Optimistic Locking": an update succeeds only
while the version id on the server side has not changed). Without VersionId an update is unconditional, as on AWS.
The check and the write happen under one lock (moto's server is threaded), and CreateTable's exists-check and
insert as well, so two CreateTable calls for one name cannot both succeed (AWS: AlreadyExistsException).

Usage: python3 moto-glue-versions.py -H 127.0.0.1 -p PORT  (the arguments of `python3 -m moto.server`).
"""
import sys
import threading

from moto.glue import models, responses
from moto.glue.exceptions import GlueClientError
from moto.server import main

_lock = threading.RLock()
_request = threading.local()


class ConcurrentModificationException(GlueClientError):
    def __init__(self) -> None:
        super().__init__("ConcurrentModificationException", "Update table failed due to concurrent modifications.")


_response_update_table = responses.GlueResponse.update_table
_backend_update_table = models.GlueBackend.update_table
_backend_create_table = models.GlueBackend.create_table


def response_update_table(self):  # type: ignore[no-untyped-def]
    """The request's VersionId, which moto's handler drops, handed to the backend through the thread."""
    _request.version_id = self.parameters.get("VersionId")
    try:
        return _response_update_table(self)
    finally:
        _request.version_id = None


def backend_update_table(self, database_name, table_name, table_input, *args, **kwargs):  # type: ignore[no-untyped-def]
    with _lock:
        expected = getattr(_request, "version_id", None)
        table = self.get_table(database_name, table_name)
        current = str(table.as_dict()["VersionId"])
        if expected is not None and str(expected) != current:
            raise ConcurrentModificationException()
        return _backend_update_table(self, database_name, table_name, table_input, *args, **kwargs)


def backend_create_table(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    with _lock:
        return _backend_create_table(self, *args, **kwargs)


responses.GlueResponse.update_table = response_update_table
models.GlueBackend.update_table = backend_update_table
models.GlueBackend.create_table = backend_create_table

if __name__ == "__main__":
    main(sys.argv[1:])
