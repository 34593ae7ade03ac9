"""Checks webhook deliveries with the official Standard Webhooks library, for the Rust tests.

One JSON request per line on stdin: {"secret": "whsec_...", "body": "<text>", "headers": {...}};
one JSON answer per line on stdout: {"ok": true} or {"ok": false, "error": "..."}.
The library also enforces its 5-minute tolerance on `webhook-timestamp`.
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

for line in sys.stdin:
    request = json.loads(line)
    try:
        Webhook(request["secret"]).verify(request["body"].encode(), request["headers"])
        answer = {"ok": True}
    except Exception as e:  # the library raises several types; each is a failed check
        answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(answer), flush=True)
