"""Creates, in local AWS emulators (dynalite for DynamoDB, moto for Secrets Manager, or whatever the
standard AWS_ENDPOINT_URL* variables point at), what the broker needs: the sessions table as
template.yaml defines it and a credentials secret for the Genesys sandbox's client. For local runs
only; docs/local-runs.md, "Local runs against dynalite and moto", shows the whole recipe.

Usage: AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567 AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:5000 \
       AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
       .venv/bin/python3 scripts/local_aws_setup.py
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
    try:
        dynamodb.update_time_to_live(
            TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
    except dynamodb.exceptions.ClientError as err:
        # dynalite has no TTL: items simply never expire locally.
        print(f"note: no TTL on {TABLE} ({err.response['Error']['Code']})")
print(f"table {TABLE}")

secrets = boto3.client("secretsmanager", region_name=REGION)
document = {"credentials": [{"client_id": "sandbox-client", "client_secret": "sandbox-secret"}]}
try:
    secrets.create_secret(Name=SECRET, SecretString=json.dumps(document))
except secrets.exceptions.ResourceExistsException:
    secrets.put_secret_value(SecretId=SECRET, SecretString=json.dumps(document))
print(f"secret {SECRET}")
