"""Counts given producers' ticks in the lake's Iceberg table with pyiceberg, a reader not written by this project.

argv: metadata location (s3://...), S3 endpoint, access key id, secret access key, region, then `<producer>=<n>`
for each producer that acknowledged n ticks (seq 0..n-1). The table is shared by every topic of a test run, so only
those producers' rows are read (a row filter pyiceberg applies). Prints one JSON object: the snapshot read, the
seqs found (landed), missing (lost) and found more than once (duplicated: rows beyond the first), counted as the
fault suite counts the Hive layout, and a few duplicated keys.
"""
import json
import sys
from collections import Counter

from pyiceberg.expressions import In
from pyiceberg.table import StaticTable

metadata, endpoint, key_id, secret, region, *expected_args = sys.argv[1:]
expected = {arg.rsplit("=", 1)[0]: int(arg.rsplit("=", 1)[1]) for arg in expected_args}
producers = list(expected)
table = StaticTable.from_metadata(
    metadata,
    properties={
        "s3.endpoint": endpoint,
        "s3.access-key-id": key_id,
        "s3.secret-access-key": secret,
        "s3.region": region,
        "s3.force-virtual-addressing": "false",
    },
)
snapshot = table.current_snapshot()
arrow = table.scan(row_filter=In("producer_id", set(producers)), selected_fields=("producer_id", "seq")).to_arrow()
seqs = {producer: Counter() for producer in producers}
for producer, seq in zip(arrow.column("producer_id").to_pylist(), arrow.column("seq").to_pylist()):
    seqs[producer][seq] += 1
landed = lost = duplicated = 0
examples = []
for producer, total in expected.items():
    counts = seqs[producer]
    for seq in range(total):
        found = counts.get(seq, 0)
        if found == 0:
            lost += 1
        else:
            landed += 1
        if found > 1:
            duplicated += found - 1
            examples.append(f"{producer}#{seq} x{found}")
print(
    json.dumps(
        {
            "snapshotId": snapshot.snapshot_id if snapshot else None,
            "landed": landed,
            "lost": lost,
            "duplicated": duplicated,
            "examples": examples[:20],
        }
    )
)
