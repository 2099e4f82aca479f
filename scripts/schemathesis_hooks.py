"""schemathesis hooks for scripts/schemathesis (loaded through SCHEMATHESIS_HOOKS).

1. The run authenticates every request with one bootstrapped owner token. Revoking that token
   (`DELETE /tokens/{id}` with its id, which schemathesis learns from `GET /tokens`) would turn
   the rest of the run into 401s, so that one call is sent for a token id that does not exist
   instead; revoking every other token (those the run creates) is exercised as usual. A 404 for
   such a rewritten call is not a finding.

2. `positive_data_acceptance` (ST202) expects every schema-valid request to succeed. The
   contract refuses some schema-valid requests for reasons no JSON Schema can state: references
   to records that must exist in this workspace, rules between fields, the clock, and state
   left by earlier requests. Exactly those refusals - by operation, status, error code and
   field - are not findings; every other refusal still fails the run. Each entry names the
   clause of ../shared/product/API.md that requires it.

3. Idempotency replays (ST302). The stateful phase may send a create again with the same
   `Idempotency-Key` and body after deleting what the first one created; the contract replays
   the original answer ("A retry with the same key and same JSON body within 24 h returns the
   original 2xx status and the original object, with `Idempotent-Replayed: true`, and creates
   nothing"), so the id it carries may name a record deleted since. A 404 for an id that came
   only from such a replay is not a finding.
"""

import os
import re

import schemathesis

OWN_TOKEN_ID = os.environ["SCHEMATHESIS_TOKEN_ID"]
SUBSTITUTE_ID = "tok_not_the_runs_own_token"
# Ids carried by replayed creates (`Idempotent-Replayed: true`).
REPLAYED_IDS = set()

LISTS = r"GET /(memberships|invitations|tokens|clients|projects|tags|time-entries|webhooks|webhooks/\{id\}/deliveries)"
CREATES_WITH_KEY = r"POST /(memberships|clients|projects|tags|time-entries|timer/start)"
ENTRY_FIELDS = {"project_id", "tag_ids", "start", "end", "duration_seconds"}

# (operation regex, status, code, fields the refusal may name (None: no fields), clause)
CONTRACT_REFUSALS = [
    # Conventions: "A cursor is URL-safe, opaque, and valid only for the workspace, endpoint and
    # filters that made it; otherwise ... -> 400 invalid_cursor" (signed: only the server makes one).
    (LISTS, 400, "invalid_cursor", None),
    # Reports: "from/to required, from <= to, at most 366 days counting both ends, else 400".
    (r"GET /reports/.*", 400, "invalid_query", {"to"}),
    # Conventions: "the same key with a different body -> 422 idempotency_key_reused".
    (CREATES_WITH_KEY, 422, "idempotency_key_reused", None),
    # Row 10: "validation, including a reference to a record outside this workspace" - and the
    # rules between fields: "end/duration both must agree; end > start; duration <= 168 h",
    # "user_id ... must be an active member", "project/tags in this workspace and not archived".
    (r"POST /time-entries", 422, "validation_failed", ENTRY_FIELDS | {"user_id"}),
    (r"PATCH /time-entries/\{id\}", 422, "validation_failed", ENTRY_FIELDS),
    # Timer: "start ... may not be in the future", "foreign project -> 422", "end ... must be
    # >= start and not in the future (else 422)".
    (r"(POST /timer/start|PATCH /timer)", 422, "validation_failed", {"project_id", "tag_ids", "start"}),
    (r"POST /timer/stop", 422, "validation_failed", {"end"}),
    # Projects: "client_id must be an unarchived client of this workspace (else 422)".
    (r"(POST /projects|PATCH /projects/\{id\})", 422, "validation_failed", {"client_id"}),
    # Tokens: "expires_at must be in the future (else 422). workspace_ids (workspaces the caller
    # actively belongs to, else 422)".
    (r"POST /tokens", 422, "validation_failed", {"expires_at", "workspace_ids"}),
    # Webhooks: "url ... a name that resolves to a private, loopback, link-local or metadata
    # address -> 422" - resolving is the server's (a name that does not resolve is refused too).
    (r"(POST /webhooks|PATCH /webhooks/\{id\})", 422, "validation_failed", {"url"}),
    # Workspace: "Unknown IANA zone -> 422" (the zone database is the server's).
    (r"PATCH /workspace", 422, "validation_failed", {"timezone"}),
]


def _error(response):
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - a body that is not JSON is never an allowed refusal
        return None, None
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, None
    return err.get("code"), err.get("fields")


def _is_contract_refusal(case, response):
    label = f"{case.method.upper()} {case.path}"
    code, fields = _error(response)
    for pattern, status, want_code, allowed_fields in CONTRACT_REFUSALS:
        if not re.fullmatch(pattern, label) or response.status_code != status or code != want_code:
            continue
        if allowed_fields is None or (fields and set(fields) <= allowed_fields):
            return True
    return False


@schemathesis.hook
def before_call(context, case, **kwargs):
    params = case.path_parameters or {}
    if case.method.upper() == "DELETE" and case.path == "/tokens/{id}" and params.get("id") == OWN_TOKEN_ID:
        params["id"] = SUBSTITUTE_ID


def _replayed(response):
    for name, value in (response.headers or {}).items():
        values = value if isinstance(value, list) else [value]
        if name.lower() == "idempotent-replayed" and "true" in values:
            return True
    return False


@schemathesis.hook
def after_call(context, case, response):
    if case.method.upper() != "POST" or not _replayed(response):
        return
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - no JSON, no id
        return
    if isinstance(body, dict):
        REPLAYED_IDS.update(v for k, v in body.items() if k in ("id", "user_id") and isinstance(v, str))


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code == "ST302" and set((case.path_parameters or {}).values()) & REPLAYED_IDS:
        return False
    if failure.code == "ST202" and _is_contract_refusal(case, response):
        return False
    if failure.code == "ST302" and (case.path_parameters or {}).get("id") == SUBSTITUTE_ID:
        return False
    return True
