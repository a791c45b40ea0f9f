"""Reads a session the way the Python utility's get_or_refresh_token does, with boto3.

Usage: python_utility_read.py ENDPOINT TABLE CRM_ID_HASH
Prints the guest id, then the token the utility would return without a refresh (or REFRESH).
"""

import sys
from datetime import datetime, timezone

import boto3

SLIDING_WINDOW_SECONDS = 300

endpoint, table_name, crm_id_hash = sys.argv[1:4]
table = boto3.resource(
    "dynamodb",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
).Table(table_name)

session = table.get_item(Key={"crm_id_hash": crm_id_hash}).get("Item")
print(session["genesys_guest_id"] if session and "genesys_guest_id" in session else "NO GUEST")
current_token = session.get("token") if session else None
expires_at_str = session.get("expires_at") if session else None
# The utility's own check, verbatim in substance.
if current_token and expires_at_str:
    expires_at = datetime.fromisoformat(expires_at_str.replace("Z", "+00:00"))
    remaining = (expires_at - datetime.now(timezone.utc)).total_seconds()
    if remaining > SLIDING_WINDOW_SECONDS:
        print(current_token)
        sys.exit(0)
print("REFRESH")
