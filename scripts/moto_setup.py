"""Creates, in a running moto (or any AWS endpoint in AWS_ENDPOINT_URL), what the broker needs:
the sessions table as template.yaml defines it and a credentials secret for the embedded Genesys
sandbox's client. For local runs only.

Usage: AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing python3 scripts/moto_setup.py
"""

import json
import os

import boto3

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
TABLE = os.environ.get("SESSIONS_TABLE", "GenesysGuestSessions")
SECRET = os.environ.get("GENESYS_CREDENTIALS_SECRET_ID", "genesys-credentials")

dynamodb = boto3.client("dynamodb", region_name=REGION)
if TABLE not in dynamodb.list_tables()["TableNames"]:
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "crm_id_hash", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "crm_id_hash", "KeyType": "HASH"}],
    )
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
print(f"table {TABLE}")

secrets = boto3.client("secretsmanager", region_name=REGION)
document = {"credentials": [{"client_id": "sandbox-client", "client_secret": "sandbox-secret"}]}
try:
    secrets.create_secret(Name=SECRET, SecretString=json.dumps(document))
except secrets.exceptions.ResourceExistsException:
    secrets.put_secret_value(SecretId=SECRET, SecretString=json.dumps(document))
print(f"secret {SECRET}")
