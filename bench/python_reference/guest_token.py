"""The Python reference for the runtime benchmark: the Python utility's job as a Python 3 Lambda.

It follows the utility's flow (shared/reference/python-utility-tutorial.txt) with boto3 and requests
instead of the Genesys SDK, so that it runs against the same moto and Genesys sandbox as the Rust
broker and reads and writes the same DynamoDB items:

- ``crm_id_hash`` = lowercase hex SHA-256 of the CRM id;
- ``ensure_guest``: GetItem by ``crm_id_hash``; no stored guest -> create one
  (``crm_guest_{hash[:12]}``, ``guest_{hash[:8]}@internal.corp``) and store the mapping;
- ``get_guest_token``: GetItem again (the utility reads the session twice per request); a token with
  more than the sliding window (300 s) left is returned as it is, else a new one is requested and
  stored;
- OAuth client credentials: ``POST {GENESYS_LOGIN_URL}/oauth/token`` with Basic auth, the access
  token cached until shortly before it expires; a refused credential moves to the next one, a 401
  from the API drops the access token and retries (the utility's rotation, made to work);
- the credential set comes from the Secrets Manager secret the broker uses, read when Genesys is
  first needed (a warm hit never needs it), or from ``GENESYS_CLIENT_ID``/``_SECRET`` without one.

As on Lambda, the imports and the boto3/requests clients are created at import time and reused by
every invocation. The handler answers API Gateway HTTP API (payload 2.0) events with the broker's
response shape; anything else is an invocation error.
"""

import base64
import hashlib
import json
import os
import time
import unicodedata
from datetime import datetime, timezone

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError

SLIDING_WINDOW_SECONDS = int(os.environ.get("SLIDING_WINDOW_SECONDS", "300"))
TABLE_NAME = os.environ.get("SESSIONS_TABLE", "GenesysGuestSessions")
SECRET_ID = os.environ.get("GENESYS_CREDENTIALS_SECRET_ID")
API_BASE = os.environ.get("GENESYS_BASE_URL", "https://api.mypurecloud.com").rstrip("/")
LOGIN_BASE = os.environ.get("GENESYS_LOGIN_URL", "https://login.mypurecloud.com").rstrip("/")
HTTP_TIMEOUT_SECONDS = 3
MAX_CRM_ID_CHARS = 256
MAX_BODY_BYTES = 16 * 1024

# Created once per instance, at import time (Lambda init), like a normal Python Lambda.
dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table(TABLE_NAME)
secrets = boto3.client("secretsmanager")
http = requests.Session()


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class UnsupportedEvent(Exception):
    pass


def crm_id_hash(crm_id):
    return hashlib.sha256(crm_id.encode("utf-8")).hexdigest()


class SessionStore:
    """The utility's table access: one item per ``crm_id_hash``, written whole."""

    def get_session(self, hash_):
        try:
            return table.get_item(Key={"crm_id_hash": hash_}).get("Item")
        except ClientError:
            return None

    def save_session(self, hash_, guest_id, token, expires_at):
        table.put_item(
            Item={
                "crm_id_hash": hash_,
                "genesys_guest_id": guest_id,
                "token": token,
                "expires_at": expires_at,
                "updated_at": datetime.now(timezone.utc).isoformat(),
            }
        )

    def delete_session(self, hash_):
        table.delete_item(Key={"crm_id_hash": hash_})


class Genesys:
    """OAuth client credentials with rotation, and authenticated JSON calls."""

    def __init__(self):
        self._credentials = None
        self._index = 0
        self._access_token = None
        self._access_token_until = 0.0

    def _credential_list(self):
        if self._credentials is None:
            if SECRET_ID:
                document = json.loads(secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"])
                self._credentials = document["credentials"]
            else:
                self._credentials = [
                    {"client_id": os.environ[f"GENESYS_CLIENT_ID{suffix}"],
                     "client_secret": os.environ[f"GENESYS_CLIENT_SECRET{suffix}"]}
                    for suffix in ("", "_2")
                    if os.environ.get(f"GENESYS_CLIENT_ID{suffix}")
                ]
        return self._credentials

    def _token(self):
        if self._access_token and time.monotonic() < self._access_token_until:
            return self._access_token
        credentials = self._credential_list()
        for _ in credentials:
            credential = credentials[self._index]
            response = http.post(
                f"{LOGIN_BASE}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(credential["client_id"], credential["client_secret"]),
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            if response.status_code in (400, 401) and "invalid_client" in response.text:
                self._index = (self._index + 1) % len(credentials)
                continue
            response.raise_for_status()
            body = response.json()
            lifetime = float(body.get("expires_in", 0))
            self._access_token = body["access_token"]
            # Cached until 60 s (or half its life, if shorter) before it expires, as the broker does.
            self._access_token_until = time.monotonic() + lifetime - min(60.0, lifetime / 2)
            return self._access_token
        raise ApiError(502, "upstream_rejected", "Genesys refused every configured OAuth client")

    def post(self, path, payload):
        for attempt in range(3):
            response = http.post(
                f"{API_BASE}{path}",
                json=payload,
                headers={"Authorization": f"Bearer {self._token()}"},
                timeout=HTTP_TIMEOUT_SECONDS,
            )
            if response.status_code == 401 and attempt < 2:
                self._access_token = None
                continue
            response.raise_for_status()
            return response.json()
        raise ApiError(502, "upstream_rejected", "Genesys kept refusing the access token")


class GuestTokenManager:
    """The utility's ``GuestTokenManager``: ensure_guest, then the sliding-window token."""

    def __init__(self):
        self.store = SessionStore()
        self.genesys = Genesys()

    def ensure_guest(self, hash_):
        existing = self.store.get_session(hash_)
        if existing and existing.get("genesys_guest_id"):
            return existing["genesys_guest_id"]
        guest = self.genesys.post(
            "/api/v2/externalusers/guests",
            {
                "name": f"crm_guest_{hash_[:12]}",
                "email": f"guest_{hash_[:8]}@internal.corp",
                "customAttributes": {"source_system": "crm_integration", "crm_id_hash": hash_},
            },
        )
        self.store.save_session(hash_, guest["id"], "", "")
        return guest["id"]

    def get_guest_token(self, crm_id):
        hash_ = crm_id_hash(crm_id)
        guest_id = self.ensure_guest(hash_)
        session = self.store.get_session(hash_)
        token = session.get("token") if session else None
        expires_at = session.get("expires_at") if session else None
        if token and expires_at:
            remaining = (parse_time(expires_at) - datetime.now(timezone.utc)).total_seconds()
            if remaining > SLIDING_WINDOW_SECONDS:
                return guest_id, token, expires_at
        issued = self.genesys.post("/api/v2/externalusers/guests/token", {"externalUserId": guest_id})
        expires_at = issued.get("expires_at") or issued.get("expiresAt")
        self.store.save_session(hash_, guest_id, issued["token"], expires_at)
        return guest_id, issued["token"], expires_at

    def forget(self, crm_id):
        self.store.delete_session(crm_id_hash(crm_id))


manager = GuestTokenManager()


def parse_time(raw):
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def rfc3339_millis(raw):
    at = parse_time(raw).astimezone(timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def read_crm_id(event):
    body = event.get("body") or ""
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise ApiError(413, "payload_too_large", "the body must be at most 16 KiB")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:
            raise ApiError(400, "invalid_request", "the body is marked base64 but is not valid base64") from None
    try:
        document = json.loads(body) if body else None
    except ValueError:
        raise ApiError(400, "invalid_request", "the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object with a crmId string")
    crm_id = document.get("crmId")
    if not isinstance(crm_id, str):
        raise ApiError(400, "invalid_request", "crmId is required" if crm_id is None else "crmId must be a string")
    if not crm_id:
        raise ApiError(400, "invalid_request", "crmId must not be empty")
    if len(crm_id) > MAX_CRM_ID_CHARS:
        raise ApiError(400, "invalid_request", f"crmId must be at most {MAX_CRM_ID_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" for c in crm_id):
        raise ApiError(400, "invalid_request", "crmId must not contain control characters")
    if not crm_id.strip():
        raise ApiError(400, "invalid_request", "crmId must not be blank")
    return crm_id


def route(method, path):
    segments = [segment for segment in path.split("/") if segment]
    name = segments[-1] if 1 <= len(segments) <= 2 else None
    expected = {"guest-tokens": "POST", "guest-sessions": "DELETE"}.get(name)
    if expected is None:
        raise ApiError(404, "not_found", "no such route: use POST /guest-tokens or DELETE /guest-sessions")
    if method != expected:
        raise ApiError(405, "method_not_allowed", f"use {expected}")
    return name


def respond(status, body=None):
    headers = {"cache-control": "no-store"}
    if body is not None:
        headers["content-type"] = "application/json"
    response = {"statusCode": status, "headers": headers, "isBase64Encoded": False}
    if body is not None:
        response["body"] = json.dumps(body, separators=(",", ":"))
    return response


def serve(event):
    http_context = event["requestContext"]["http"]
    name = route(http_context.get("method"), event.get("rawPath") or "/")
    crm_id = read_crm_id(event)
    if name == "guest-sessions":
        manager.forget(crm_id)
        return respond(204), "deleted"
    guest_id, token, expires_at = manager.get_guest_token(crm_id)
    return respond(200, {"token": token, "expiresAt": rfc3339_millis(expires_at), "guestId": guest_id}), "ok"


def handler(event, context):
    if not (isinstance(event, dict) and isinstance((event.get("requestContext") or {}).get("http"), dict)):
        raise UnsupportedEvent("this function serves API Gateway HTTP API (payload 2.0) events")
    started = time.perf_counter()
    try:
        response, outcome = serve(event)
    except ApiError as err:
        response, outcome = respond(err.status, {"error": {"code": err.code, "message": err.message}}), err.code
    except (requests.RequestException, BotoCoreError, ClientError):
        response = respond(503, {"error": {"code": "upstream_unavailable", "message": "retry shortly"}})
        outcome = "upstream_unavailable"
    print(f"request status={response['statusCode']} outcome={outcome} "
          f"duration_ms={(time.perf_counter() - started) * 1000:.3f}")
    return response
