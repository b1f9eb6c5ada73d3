"""Reads EC2 user data (base64, as in userDataBase64) on stdin and prints what cloud-init makes of it.

Uses cloud-init's own code (Debian's cloud-init package, /usr/bin/python3): convert_string unpacks gzip and
MIME exactly as on an instance's first boot, type_from_starts_with decides which handler runs each part. Prints
one JSON object: {"parts": [{"type": "text/x-shellscript", "payload": "#!/bin/bash ..."}]}.
"""
import base64
import json
import sys

from cloudinit import handlers, util
from cloudinit import user_data

raw = base64.b64decode(sys.stdin.read())
message = user_data.convert_string(raw)
parts = []
for part in message.walk():
    if part.is_multipart():
        continue
    payload = util.fully_decoded_payload(part)
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    parts.append({"type": handlers.type_from_starts_with(payload), "payload": payload})
print(json.dumps({"parts": parts}))
