"""Checks the answers scripts/sam-local gets from the function under `sam local`.

  sam_local_check.py invoke EVENT_FILE ANSWER_FILE STATE_FILE [MODE]
      ANSWER_FILE is what `sam local invoke` printed on stdout (the function's result, JSON).
      MODE says how the function ran: owner (the guest function in the owner's mode, the
      default), web (the guest function in genesys-web-messaging mode) or oidc (OidcFunction).
  sam_local_check.py http NAME STATUS HEADERS_FILE BODY_FILE STATE_FILE [CORRELATION_ID]
      HEADERS_FILE and BODY_FILE are what curl wrote (-D, -o) from `sam local start-api`.

Prints one short description of what was checked; exits 1 with the reason when an answer is
wrong. STATE_FILE (JSON) carries the first token issued so that a later one can be compared with
it: the second request for the same customer must get the stored token, not a new one.

Every event needs its expectation here: an event file this script does not know fails, so a new
sample event cannot go unchecked.
"""

import base64
import json
import os
import re
import sys

TOKEN_FIELDS = {"token", "expiresAt", "guestId"}
CODE_FIELDS = {"authCode", "redirectUri", "nonce", "expiresIn"}
# What scripts/sam-local sets for the functions in genesys-web-messaging mode (the issuer can be
# overridden for tests that run this check on the compiled binary's answers elsewhere).
OIDC_ISSUER = os.environ.get("SAM_LOCAL_CHECK_OIDC_ISSUER", "https://broker.example.com")
REDIRECT_URI = "https://broker.example.com/oidc/callback"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def load_state(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save_state(path, state):
    with open(path, "w") as f:
        json.dump(state, f)


def lower_headers(headers):
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def check_headers(headers, status, correlation_id):
    """The headers the function sets on every API answer (src/api/mod.rs)."""
    if headers.get("cache-control") != "no-store":
        fail(f"cache-control is {headers.get('cache-control')!r}, not 'no-store'")
    if status != 204 and not headers.get("content-type", "").startswith("application/json"):
        fail(f"content-type is {headers.get('content-type')!r}, not application/json")
    if correlation_id is not None and headers.get("x-correlation-id") != correlation_id:
        fail(f"x-correlation-id is {headers.get('x-correlation-id')!r}, not {correlation_id!r}")


def check_token(body, state, same_as_first):
    """A token answer; the first is remembered, a later one must be the same (a hit)."""
    try:
        doc = json.loads(body)
    except ValueError:
        fail(f"the body is not JSON: {body[:200]!r}")
    if not isinstance(doc, dict) or set(doc) != TOKEN_FIELDS:
        fail(f"the body's fields are {sorted(doc) if isinstance(doc, dict) else doc!r}, not {sorted(TOKEN_FIELDS)}")
    if not all(isinstance(doc[k], str) and doc[k] for k in TOKEN_FIELDS):
        fail("token, expiresAt and guestId must be non-empty strings")
    if not RFC3339.match(doc["expiresAt"]):
        fail(f"expiresAt {doc['expiresAt']!r} is not RFC 3339")
    first = state.get("first")
    if first is None:
        state["first"] = doc
        return f"token issued (guest {doc['guestId'][:8]}…)"
    if same_as_first:
        if doc != first:
            fail("the second request for the same customer got a new token, not the stored one")
        return "same token and guest as the first request (stored session)"
    return "token issued"


def check_error(body, code):
    try:
        doc = json.loads(body)
    except ValueError:
        fail(f"the body is not JSON: {body[:200]!r}")
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict) or error.get("code") != code or not error.get("message"):
        fail(f"expected error {code!r} with a message, got {body[:200]!r}")
    return f"error {code}"


def parse_json(name, body):
    try:
        return json.loads(body)
    except ValueError:
        fail(f"{name}: the body is not JSON: {body[:200]!r}")


def check_code(name, body, event_body):
    """A POST /auth-codes answer: the code, bound to the event's nonce and challenge."""
    doc = parse_json(name, body)
    if not isinstance(doc, dict) or set(doc) != CODE_FIELDS:
        fail(f"{name}: the body's fields are {sorted(doc) if isinstance(doc, dict) else doc!r}, not {sorted(CODE_FIELDS)}")
    if not (isinstance(doc["authCode"], str) and len(doc["authCode"]) == 43):
        fail(f"{name}: authCode is not 43 base64url characters")
    if doc["redirectUri"] != REDIRECT_URI or doc["nonce"] != event_body.get("nonce"):
        fail(f"{name}: redirectUri or nonce is not what was configured or sent: {doc}")
    if doc["expiresIn"] != 60:
        fail(f"{name}: expiresIn {doc['expiresIn']!r}, not 60")
    return "code issued (the caller's nonce and challenge bound, no verifier handed out)"


def answer_headers(answer):
    """A REST API answer's headers, lower-cased: `headers` and `multiValueHeaders` together."""
    headers = lower_headers(answer.get("headers"))
    for key, values in (answer.get("multiValueHeaders") or {}).items():
        headers.setdefault(key.lower(), ",".join(values))
    return headers


def oidc(name, event, answer):
    """The OIDC provider function's REST API (payload 1.0) events."""
    status = answer.get("statusCode")
    headers = answer_headers(answer)
    body = answer.get("body") or ""
    method, path = event["httpMethod"], event["path"]
    if method == "GET" and path.endswith("/.well-known/openid-configuration"):
        doc = parse_json(name, body)
        if status != 200 or headers.get("cache-control") != "public, max-age=300":
            fail(f"{name}: status {status}, cache-control {headers.get('cache-control')!r}")
        if doc.get("issuer") != OIDC_ISSUER or doc.get("token_endpoint") != f"{OIDC_ISSUER}/oidc/token":
            fail(f"{name}: issuer or token_endpoint is not the configured issuer's: {body[:300]}")
        if doc.get("code_challenge_methods_supported") != ["S256"]:
            fail(f"{name}: code_challenge_methods_supported is {doc.get('code_challenge_methods_supported')!r}")
        return f"{status}, discovery of {OIDC_ISSUER} (S256 PKCE)"
    if method == "GET" and path.endswith("/.well-known/jwks.json"):
        doc = parse_json(name, body)
        keys = doc.get("keys") if isinstance(doc, dict) else None
        if status != 200 or not keys or keys[0].get("alg") != "RS256" or keys[0].get("kty") != "RSA":
            fail(f"{name}: status {status}, not an RS256 JWKS: {body[:300]}")
        return f"{status}, JWKS with the KMS key ({keys[0].get('kid', '?')[:8]}…)"
    if method == "POST" and path.endswith("/oidc/token"):
        doc = parse_json(name, body)
        if status != 400 or not isinstance(doc, dict) or doc.get("error") != "invalid_grant":
            fail(f"{name}: expected 400 invalid_grant for a code nobody issued, got {status}: {body[:300]}")
        if headers.get("cache-control") != "no-store" or headers.get("pragma") != "no-cache":
            fail(f"{name}: cache-control {headers.get('cache-control')!r}, pragma {headers.get('pragma')!r}")
        return f"{status}, invalid_grant (the client authenticated; no such code)"
    fail(f"{name}: {method} {path} is not an OIDC route this check knows: add its expectation")


def invoke(event_file, answer_file, state_file, mode="owner"):
    name = os.path.basename(event_file)
    with open(event_file) as f:
        event = json.load(f)
    with open(answer_file) as f:
        text = f.read().strip()
    if not text:
        fail(f"{name}: sam local invoke printed no answer")
    # The function's answer is the last line SAM printed on stdout.
    try:
        answer = json.loads(text.splitlines()[-1])
    except ValueError:
        fail(f"{name}: the answer is not JSON: {text[-300:]!r}")
    state = load_state(state_file)

    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        if answer.get("warmed") is not True:
            fail(f"{name}: the warm-up did not report warmed: true: {answer}")
        # Each step the warm-up ran reports "ok" (src/lambda: the access token, the store, ...).
        steps = {k: v for k, v in answer.items() if k != "warmed"}
        if "accessToken" not in steps or "store" not in steps:
            fail(f"{name}: the warm-up report lacks accessToken or store: {answer}")
        bad = {k: v for k, v in steps.items() if v != "ok"}
        if bad:
            fail(f"{name}: warm-up steps not ok: {bad}")
        return print(f"warmed: true, {'/'.join(steps)} ok")

    if mode == "oidc":
        if "httpMethod" not in event or "requestContext" not in event:
            fail(f"{name}: OidcFunction's events are its REST API's (payload 1.0), as the template routes them")
        return print(oidc(name, event, answer))

    if "httpMethod" not in event or "requestContext" not in event:
        fail(f"{name}: not an event this check knows (REST API or scheduled warm-up): add its expectation")
    status = answer.get("statusCode")
    headers = answer_headers(answer)
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        fail(f"{name}: a JSON answer should not be base64-encoded")
    check_headers(headers, status, event["requestContext"].get("requestId"))

    method, path = event["httpMethod"], event["path"]
    if name.startswith("malformed"):
        if status != 400:
            fail(f"{name}: status {status}, expected 400: {body[:200]}")
        detail = check_error(body, "invalid_request")
    elif method == "POST" and path.endswith("/guest-tokens"):
        if status != 200:
            fail(f"{name}: status {status}, expected 200: {body[:200]}")
        detail = check_token(body, state, same_as_first=True)
    elif method == "DELETE" and path.endswith("/guest-sessions"):
        if status != 204 or body:
            fail(f"{name}: status {status} body {body[:100]!r}, expected 204 and no body")
        detail = "session forgotten"
    elif method == "POST" and path.endswith("/auth-codes") and mode == "web":
        if status != 200:
            fail(f"{name}: status {status}, expected 200: {body[:200]}")
        sent = json.loads(base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"])
        detail = check_code(name, body, sent)
    elif method == "POST" and path.endswith("/auth-codes"):
        if status != 404:
            fail(f"{name}: status {status}, expected 404 in the owner's mode: {body[:200]}")
        detail = check_error(body, "wrong_upstream_mode") + " (the owner's mode has no codes)"
    else:
        fail(f"{name}: {method} {path} is not a route this check knows: add its expectation")
    save_state(state_file, state)
    print(f"{status}, {detail}, headers ok")


def http(name, status, headers_file, body_file, state_file, correlation_id=None):
    status = int(status)
    with open(headers_file) as f:
        raw = f.read()
    headers = {}
    for line in raw.splitlines()[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    with open(body_file) as f:
        body = f.read()
    state = load_state(state_file)
    check_headers(headers, status, correlation_id)
    if name in ("post", "post-again"):
        if status != 200:
            fail(f"{name}: status {status}, expected 200: {body[:200]}")
        detail = check_token(body, state, same_as_first=(name == "post-again"))
    elif name == "delete":
        if status != 204 or body:
            fail(f"{name}: status {status} body {body[:100]!r}, expected 204 and no body")
        detail = "session forgotten"
    elif name == "malformed":
        if status != 400:
            fail(f"{name}: status {status}, expected 400: {body[:200]}")
        detail = check_error(body, "invalid_request")
    elif name == "auth-codes":
        if status != 404:
            fail(f"{name}: status {status}, expected 404 in the owner's mode: {body[:200]}")
        detail = check_error(body, "wrong_upstream_mode")
    else:
        fail(f"unknown check {name}")
    save_state(state_file, state)
    print(f"{status}, {detail}, headers ok")


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "invoke":
        invoke(*sys.argv[2:])
    elif len(sys.argv) in (7, 8) and sys.argv[1] == "http":
        http(*sys.argv[2:])
    else:
        fail(__doc__)
