"""Scans an Iceberg table with pyiceberg, a reader not written by this project, and prints what it read.

argv: metadata location (s3://...) or a Glue table (glue:<database>.<table>), S3 endpoint, access key id, secret
access key, region, key columns (comma-separated, e.g. producer_id,seq), and for a Glue table the Glue endpoint.
A Glue table is loaded through pyiceberg's own Glue catalog (GetTable, its table_type and metadata_location), the
way a reader of the cloud lake finds it. Prints one JSON object: the snapshot read, its data files, the rows, the
distinct keys, and every key seen more than once.
"""
import json
import sys
from collections import Counter

from pyiceberg.table import StaticTable

metadata, endpoint, key_id, secret, region, columns = sys.argv[1:7]
s3_properties = {
    "s3.endpoint": endpoint,
    "s3.access-key-id": key_id,
    "s3.secret-access-key": secret,
    "s3.region": region,
    "s3.force-virtual-addressing": "false",
}
if metadata.startswith("glue:"):
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        "glue",
        **{
            "type": "glue",
            "glue.endpoint": sys.argv[7],
            "glue.region": region,
            "glue.access-key-id": key_id,
            "glue.secret-access-key": secret,
            **s3_properties,
        },
    )
    table = catalog.load_table(metadata[len("glue:") :])
else:
    table = StaticTable.from_metadata(metadata, properties=s3_properties)
snapshot = table.current_snapshot()
key_columns = columns.split(",")
arrow = table.scan(selected_fields=tuple(key_columns)).to_arrow()
keys = Counter(zip(*(arrow.column(name).to_pylist() for name in key_columns)))
print(
    json.dumps(
        {
            "snapshotId": snapshot.snapshot_id if snapshot else None,
            "dataFiles": len(list(table.scan().plan_files())),
            "rows": arrow.num_rows,
            "distinct": len(keys),
            "duplicates": [list(key) for key, count in keys.items() if count > 1][:20],
            "schema": [[field.field_id, field.name, str(field.field_type), field.required] for field in table.schema().fields],
            "partitionSpec": [[field.field_id, field.name, str(field.transform), field.source_id] for field in table.spec().fields],
        }
    )
)
