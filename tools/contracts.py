#!/usr/bin/env python3
"""Generates the vendor contracts the tests hold every connector and emulator to.

One `src/vendors/<vendor>/contract.json` per vendor, derived from the vendors' own API
contracts in `../shared/reference/specs/` (relative to the repository root): for each endpoint a
connector may call, the method, path template, auth forms, allowed query parameters with their
types and bounds, required parameters, the response fields the connector reads (a JSON Schema
fragment resolved from the spec, only as deep as those fields), and the vendor's error shape.
Shopify publishes no machine-readable spec: its contract is built from the facts table below,
and every fact is checked to be still stated by the reference documents.

    python3 tools/contracts.py            # write the four files
    python3 tools/contracts.py --check    # regenerate in memory; exit 1 with a diff on change
    python3 tools/contracts.py --specs DIR

Python 3 standard library only.
"""

import argparse
import difflib
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPECS = os.path.join(ROOT, "..", "shared", "reference", "specs")

# ----------------------------------------------------------------------------------------------
# What the connectors may call. One line per endpoint: adding a read is a one-line change here,
# then `python3 tools/contracts.py`.
# ----------------------------------------------------------------------------------------------

STRIPE_SPEC = "stripe-spec3-2023-09-12.json"
# Lists, probed with `limit` and `created[gte]`.
STRIPE_LISTS = [
    "/v1/charges",
    "/v1/customers",
    "/v1/disputes",
    "/v1/events",
    "/v1/files",
    "/v1/payment_intents",
    "/v1/payouts",
    "/v1/products",
    "/v1/prices",
    "/v1/coupons",
    "/v1/setup_intents",
    "/v1/invoices",
    "/v1/subscriptions",
    "/v1/transfers",
    "/v1/application_fees",
    "/v1/topups",
    "/v1/reporting/report_runs",
    "/v1/identity/verification_sessions",
    "/v1/reviews",
    "/v1/tax_rates",
    "/v1/refunds",
    "/v1/balance_transactions",
    "/v1/accounts",
    "/v1/issuing/cards",
    "/v1/issuing/authorizations",
    "/v1/issuing/disputes",
    "/v1/radar/value_lists",
    "/v1/treasury/financial_accounts",
    "/v1/issuing/cardholders",
    "/v1/issuing/transactions",
    "/v1/identity/verification_reports",
    "/v1/file_links",
    "/v1/invoiceitems",
    "/v1/subscription_schedules",
]
# Single objects: identity and balance, and by-id retrieves of a non-existent id.
STRIPE_OBJECTS = [
    "/v1/account",
    "/v1/balance",
    "/v1/checkout/sessions/{session}",
    "/v1/credit_notes/{id}",
    "/v1/quotes/{quote}",
    "/v1/webhook_endpoints/{webhook_endpoint}",
    "/v1/payment_links/{payment_link}",
    "/v1/payment_methods/{payment_method}",
    "/v1/financial_connections/accounts/{account}",
    "/v1/sigma/scheduled_query_runs/{scheduled_query_run}",
    "/v1/radar/early_fraud_warnings/{early_fraud_warning}",
    "/v1/mandates/{mandate}",
    "/v1/tax/transactions/{transaction}",
]
# Lists read page by page with `limit` and `starting_after` (no `created` filter).
STRIPE_PAGED = ["/v1/webhook_endpoints"]
# Response members the Stripe connector reads (every other 2xx body is dropped unread).
STRIPE_READS = {
    "/v1/account": ["id", "object"],
    "/v1/webhook_endpoints": ["object", "has_more", "data.id", "data.url", "data.status",
                              "data.enabled_events"],
}
STRIPE_ERROR_READS = ["error.type", "error.code", "error.message"]

ADYEN_SPEC = "adyen-ManagementService-v3.json"
# (path in the spec, members the connector reads). `_links.company/merchant`: issue 13 point 5.
ADYEN_ENDPOINTS = [
    (
        "/me",
        [
            "id",
            "username",
            "allowedIpAddresses",
            "roles",
            "active",
            "allowedOrigins.domain",
            "companyName",
            "_links.company.href",
            "_links.merchant.href",
        ],
    ),
    # Webhooks (issue 16 point 3): the URL is cut to scheme and host while parsing.
    ("/companies/{companyId}/webhooks",
     ["itemsTotal", "pagesTotal", "data.id", "data.url", "data.active", "data.type"]),
    ("/merchants/{merchantId}/webhooks",
     ["itemsTotal", "pagesTotal", "data.id", "data.url", "data.active", "data.type"]),
]
# The audit key's lists (issue 16): credentials and users, page by page; no name, username or
# e-mail is read.
ADYEN_CREDENTIAL_READS = [
    "data.id",
    "data.roles",
    "data.allowedIpAddresses",
    "data.allowedOrigins.domain",
    "data.active",
    "data.associatedMerchantAccounts",
    "pagesTotal",
    "itemsTotal",
]
ADYEN_ENDPOINTS += [
    ("/companies/{companyId}/apiCredentials", ADYEN_CREDENTIAL_READS),
    ("/merchants/{merchantId}/apiCredentials",
     [r for r in ADYEN_CREDENTIAL_READS if r != "data.associatedMerchantAccounts"]),
    ("/companies/{companyId}/users",
     ["data.id", "data.roles", "data.active", "pagesTotal", "itemsTotal"]),
]
ADYEN_ERROR = "RestServiceError"
ADYEN_ERROR_READS = ["errorCode", "title", "status"]

ITERABLE_SPEC = "iterable-api-docs.json"
# (path, members the connector reads); the export body is never read.
ITERABLE_ENDPOINTS = [
    ("/api/users/getFields", ["fields"]),
    ("/api/inApp/getMessages", ["inAppMessages.messageId"]),
    ("/api/inApp/web/getMessages", ["inAppMessages.messageId"]),
    ("/api/export/data.json", []),
    ("/api/webhooks", ["webhooks.id", "webhooks.endpoint", "webhooks.enabled"]),
]
ITERABLE_ERROR = "IterableApiResponse"
ITERABLE_ERROR_READS = ["code"]

# Shopify: no spec file. Each fact names the document that states it and a quotation the
# document must still contain (checked on every run; line breaks and runs of spaces count as one
# space). Paths relative to the specs directory.
SHOPIFY_README = "README.md"
SHOPIFY_APIS = "../vendor-apis.md"
SHOPIFY_VERSION = "2026-10"  # the Admin REST version the connector pins (src/vendors/shopify API_VERSION)
SHOPIFY_FACTS = [
    ("scopes_unversioned", SHOPIFY_README,
     "`GET /admin/oauth/access_scopes.json` is unversioned"),
    ("shop_fields_param", SHOPIFY_README, "`shop.json` accepts `fields=`"),
    ("shop_personal_data", SHOPIFY_README,
     "otherwise returns the owner's name, e-mail, phone and address"),
    ("call_limit_header", SHOPIFY_README, "The call-limit header is `used/size`"),
    ("retry_after", SHOPIFY_README, "429 carries `Retry-After`"),
    ("errors_shape", SHOPIFY_README, "`errors` may be a string or an object"),
    ("auth_header", SHOPIFY_APIS, "Auth header: `X-Shopify-Access-Token`"),
    ("shop_path", SHOPIFY_APIS, "`GET https://{shop}/admin/api/{version}/shop.json`"),
    ("versions", SHOPIFY_APIS, "a new version every quarter (`YYYY-01/04/07/10`)"),
    ("scopes_body", SHOPIFY_APIS,
     '{"access_scopes":[{"handle":"read_products"},{"handle":"write_orders"}]}'),
    ("error_401", SHOPIFY_APIS, "401 invalid, revoked or expired token: `{\"errors\":"),
    ("error_403", SHOPIFY_APIS, "403 missing scope: `{\"errors\":"),
    ("error_404", SHOPIFY_APIS, "404: unknown shop domain"),
]

# ----------------------------------------------------------------------------------------------


class ContractError(Exception):
    pass


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load(specs, name):
    path = os.path.join(specs, name)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ContractError(f"{path}: {e}")


def source(specs, name, spec_version):
    return {"file": name, "sha256": sha256(os.path.join(specs, name)), "version": spec_version}


class Spec:
    """One OpenAPI 3 or Swagger 2 document: $ref resolution and JSON Schema conversion."""

    def __init__(self, doc, name):
        self.doc = doc
        self.name = name
        self.swagger = "swagger" in doc

    def resolve(self, s):
        seen = 0
        while isinstance(s, dict) and "$ref" in s:
            ref = s["$ref"]
            if not ref.startswith("#/"):
                raise ContractError(f"{self.name}: external $ref {ref}")
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            s = node
            seen += 1
            if seen > 50:
                raise ContractError(f"{self.name}: $ref loop at {ref}")
        return s

    def op(self, path, method="get"):
        op = self.doc["paths"].get(path, {}).get(method)
        if op is None:
            raise ContractError(f"{self.name}: no {method.upper()} {path}")
        return op

    def scalar(self, s):
        """A JSON Schema for a value without nested members: nested objects become
        `{"type": "object"}`; OpenAPI `nullable` becomes a `null` type."""
        s = self.resolve(s)
        nullable = s.get("nullable", False)
        if "anyOf" in s or "oneOf" in s:
            alts = [self.scalar(a) for a in s.get("anyOf", s.get("oneOf"))]
            alts = [a for i, a in enumerate(alts) if a not in alts[:i]]
            out = alts[0] if len(alts) == 1 else {"anyOf": alts}
        else:
            out = {}
            t = s.get("type")
            if t is None and "properties" in s:
                t = "object"
            if t is not None:
                out["type"] = t
            for k in ("enum", "minimum", "maximum", "minLength", "maxLength", "pattern"):
                if k in s:
                    out[k] = s[k]
            if t == "array" and "items" in s:
                out["items"] = self.scalar(s["items"])
        return with_null(out) if nullable else out

    def fragment(self, s, paths):
        """The schema of `s` reduced to the members named by the dotted `paths`: the spec's
        `required` names at each level visited, the read members' schemas, and, where the spec
        closes an object (`additionalProperties: false`), every member name."""
        s = self.resolve(s)
        nullable = s.get("nullable", False)
        if "anyOf" in s or "oneOf" in s:
            alts = [self.resolve(a) for a in s.get("anyOf", s.get("oneOf"))]
            objs = [a for a in alts if a.get("type") == "object" or "properties" in a]
            if len(objs) != 1:
                raise ContractError(f"{self.name}: cannot descend into {paths} (anyOf)")
            out = self.fragment(objs[0], paths)
            return with_null(out) if nullable or len(alts) > 1 else out
        if s.get("type") == "array":
            out = {"type": "array", "items": self.fragment(s.get("items", {}), paths)}
            return with_null(out) if nullable else out
        props = s.get("properties", {})
        out = {"type": "object"}
        if s.get("required"):
            out["required"] = sorted(s["required"])
        groups = {}
        for p in paths:
            head, _, tail = p.partition(".")
            groups.setdefault(head, [])
            if tail:
                groups[head].append(tail)
        members = {}
        for head, tails in groups.items():
            if head not in props:
                raise ContractError(f"{self.name}: the response has no member `{head}`")
            members[head] = self.fragment(props[head], tails) if tails else self.scalar(props[head])
        if s.get("additionalProperties") is False:
            for name in props:
                members.setdefault(name, True)
            out["additionalProperties"] = False
        if members:
            out["properties"] = members
        return with_null(out) if nullable else out

    def auth(self, op):
        schemes = self.doc.get("securityDefinitions") if self.swagger else \
            self.doc.get("components", {}).get("securitySchemes")
        reqs = op.get("security", self.doc.get("security", []))
        out = []
        for req in reqs:
            for name in req:
                d = schemes[name]
                form = {"type": d["type"]}
                for k in ("scheme", "in", "name", "description"):
                    if k in d:
                        form[k] = d[k]
                if form not in out:
                    out.append(form)
        return out

    def parameters(self, op):
        """(path parameters, query parameters flattened to the keys a query string carries,
        required query parameter names)."""
        path_params, query, required = {}, {}, []
        for p in op.get("parameters", []):
            p = self.resolve(p)
            where, name = p["in"], p["name"]
            schema = p["schema"] if "schema" in p else {
                k: v for k, v in p.items() if k in ("type", "enum", "items", "minimum", "maximum",
                                                    "maxLength", "minLength", "pattern")}
            if where == "path":
                path_params[name] = self.scalar(schema)
            elif where == "query":
                if p.get("required"):
                    required.append(name)
                for key, s in self.flatten(name, schema, p).items():
                    query[key] = bounds_from(p.get("description", ""), s)
        return path_params, query, sorted(required)

    def flatten(self, name, schema, param):
        """`created` (integer or {gt,gte,lt,lte}) → `created`, `created[gte]`, …; a deepObject
        array → `name[]`; a Swagger `multi` array → `name`, repeated."""
        s = self.resolve(schema)
        alts = s.get("anyOf") or s.get("oneOf")
        if alts:
            out = {}
            for a in alts:
                for k, v in self.flatten(name, a, param).items():
                    if k in out and out[k] != v:
                        prev = out[k]["anyOf"] if "anyOf" in out[k] else [out[k]]
                        out[k] = {"anyOf": prev + [v]}
                    else:
                        out[k] = v
            return out
        if s.get("type") == "object" and s.get("properties"):
            out = {}
            for prop, ps in s["properties"].items():
                out.update(self.flatten(f"{name}[{prop}]", ps, param))
            return out
        if s.get("type") == "array":
            items = self.scalar(s.get("items", {}))
            if self.swagger and param.get("collectionFormat", "csv") != "multi":
                return {name: {"type": "string"}}
            return {name if self.swagger else f"{name}[]": items}
        return {name: self.scalar(s)}


def with_null(s):
    if s.get("enum") is not None and None not in s["enum"]:
        s = dict(s, enum=s["enum"] + [None])
    if "type" in s:
        t = s["type"] if isinstance(s["type"], list) else [s["type"]]
        return dict(s, type=t + ["null"]) if "null" not in t else s
    if "anyOf" in s:
        return dict(s, anyOf=s["anyOf"] + [{"type": "null"}])
    return s


LIMIT_BOUNDS = re.compile(r"(?:range between|ranging from) (\d+) (?:and|to) (\d+)")


def bounds_from(description, s):
    """Stripe states `limit` bounds in prose only ("Limit can range between 1 and 100")."""
    m = LIMIT_BOUNDS.search(description)
    if m and s.get("type") == "integer" and "minimum" not in s and "maximum" not in s:
        return dict(s, minimum=int(m.group(1)), maximum=int(m.group(2)))
    return s


def endpoint(spec, prefix, path, reads, default_auth):
    op = spec.op(path)
    path_params, query, required = spec.parameters(op)
    responses = op.get("responses", {})
    ok = sorted(s for s in responses if s.startswith("2"))
    if not ok:
        raise ContractError(f"{spec.name}: GET {path} documents no 2xx answer")
    status = ok[0]
    r = spec.resolve(responses[status])
    if spec.swagger:
        content_type = (op.get("produces") or spec.doc.get("produces") or ["application/json"])[0]
        schema = r.get("schema")
    else:
        content = r.get("content", {})
        content_type = next(iter(content), "application/json")
        schema = content.get(content_type, {}).get("schema")
    e = {"method": "GET", "path": prefix + path, "operation": op.get("operationId")}
    auth = spec.auth(op)
    if auth != default_auth:
        e["auth"] = auth
    if path_params:
        e["path_params"] = path_params
    e["query"] = query
    if required:
        e["required"] = required
    e["response"] = {"status": int(status), "content_type": content_type}
    if schema is not None and content_type == "application/json":
        e["response"]["schema"] = spec.fragment(schema, reads)
    e["errors"] = [s for s in sorted(responses) if not s.startswith("2")]
    return e


def server_prefix(spec):
    if spec.swagger:
        base = spec.doc.get("basePath", "/")
        return "" if base == "/" else base.rstrip("/")
    url = spec.doc.get("servers", [{"url": "/"}])[0]["url"]
    path = re.sub(r"^[a-z]+://[^/]+", "", url)
    return path.rstrip("/")


def openapi_contract(specs, vendor, file, version, items, error, error_reads, first_op):
    spec = Spec(load(specs, file), file)
    prefix = server_prefix(spec)
    default_auth = spec.auth(spec.op(first_op))
    return {
        "_generated": "by tools/contracts.py from the vendor's own API contract; do not edit",
        "vendor": vendor,
        "source": source(specs, file, version(spec.doc)),
        "api_version": version(spec.doc),
        "auth": default_auth,
        "error": spec.fragment(error(spec), error_reads),
        "endpoints": [endpoint(spec, prefix, p, reads, default_auth) for p, reads in items],
    }


def stripe(specs):
    items = [(p, STRIPE_READS.get(p, [])) for p in STRIPE_OBJECTS + STRIPE_LISTS + STRIPE_PAGED]
    c = openapi_contract(
        specs, "stripe", STRIPE_SPEC, lambda d: d["info"]["version"], items,
        lambda s: s.doc["components"]["schemas"]["error"], STRIPE_ERROR_READS, "/v1/account")
    for e in c["endpoints"]:
        if e["path"] in STRIPE_LISTS and not {"limit", "created[gte]"} <= set(e["query"]):
            raise ContractError(f"{STRIPE_SPEC}: {e['path']} takes no `limit`/`created[gte]`")
        if e["path"] in STRIPE_PAGED and not {"limit", "starting_after"} <= set(e["query"]):
            raise ContractError(f"{STRIPE_SPEC}: {e['path']} takes no `limit`/`starting_after`")
    return c


def adyen(specs):
    return openapi_contract(
        specs, "adyen", ADYEN_SPEC, lambda d: "v" + d["info"]["version"], ADYEN_ENDPOINTS,
        lambda s: s.doc["components"]["schemas"][ADYEN_ERROR], ADYEN_ERROR_READS, "/me")


def iterable(specs):
    return openapi_contract(
        specs, "iterable", ITERABLE_SPEC, lambda d: d["info"]["version"], ITERABLE_ENDPOINTS,
        lambda s: s.doc["definitions"][ITERABLE_ERROR], ITERABLE_ERROR_READS,
        ITERABLE_ENDPOINTS[0][0])


def shopify(specs):
    docs = {}
    for _, doc, quote in SHOPIFY_FACTS:
        if doc not in docs:
            path = os.path.normpath(os.path.join(specs, doc))
            try:
                with open(path, encoding="utf-8") as f:
                    docs[doc] = " ".join(f.read().split())
            except OSError as e:
                raise ContractError(f"{path}: {e}")
    missing = [(fact, doc) for fact, doc, quote in SHOPIFY_FACTS if quote not in docs[doc]]
    if missing:
        raise ContractError("the Shopify facts are no longer stated: " + ", ".join(
            f"{fact} ({doc})" for fact, doc in missing))
    errors = ["401", "403", "404", "429"]
    return {
        "_generated": "by tools/contracts.py from the facts in the reference documents; do not edit",
        "vendor": "shopify",
        "source": {
            "file": SHOPIFY_README,
            "sha256": sha256(os.path.join(specs, SHOPIFY_README)),
            "also": {"file": SHOPIFY_APIS, "sha256": sha256(os.path.join(specs, SHOPIFY_APIS))},
            "facts": [fact for fact, _, _ in SHOPIFY_FACTS],
        },
        "api_version": SHOPIFY_VERSION,
        "auth": [{"type": "apiKey", "in": "header", "name": "X-Shopify-Access-Token"}],
        "error": {"type": "object", "required": ["errors"],
                  "properties": {"errors": {"type": ["string", "object"]}}},
        "endpoints": [
            {
                "method": "GET",
                "path": "/admin/oauth/access_scopes.json",
                "query": {},
                "response": {"status": 200, "content_type": "application/json", "schema": {
                    "type": "object", "required": ["access_scopes"],
                    "properties": {"access_scopes": {"type": "array", "items": {
                        "type": "object", "required": ["handle"],
                        "properties": {"handle": {"type": "string"}}}}}}},
                "errors": errors,
            },
            {
                "method": "GET",
                "path": "/admin/api/{version}/shop.json",
                "path_params": {"version": {"type": "string",
                                            "pattern": "^[0-9]{4}-(01|04|07|10)$"}},
                "query": {"fields": {"type": "string"}},
                "response": {"status": 200, "content_type": "application/json", "schema": {
                    "type": "object", "required": ["shop"],
                    "properties": {"shop": {"type": "object", "properties": {
                        "domain": {"type": "string"},
                        "myshopify_domain": {"type": "string"}}}}}},
                "errors": errors,
            },
            {
                # UNCONFIRMED (not in the reference documents; shopify.dev REST `Webhook`
                # resource): lists the calling app's webhook subscriptions; `fields=`, `limit`
                # (1-250) and cursor pagination with `page_info` from the `Link` header.
                "method": "GET",
                "path": "/admin/api/{version}/webhooks.json",
                "path_params": {"version": {"type": "string",
                                            "pattern": "^[0-9]{4}-(01|04|07|10)$"}},
                "query": {"fields": {"type": "string"},
                          "limit": {"type": "integer", "minimum": 1, "maximum": 250},
                          "page_info": {"type": "string"}},
                "response": {"status": 200, "content_type": "application/json", "schema": {
                    "type": "object", "required": ["webhooks"],
                    "properties": {"webhooks": {"type": "array", "items": {
                        "type": "object", "required": ["id", "address", "topic"],
                        "properties": {"id": {"type": "integer"},
                                       "address": {"type": "string"},
                                       "topic": {"type": "string"}}}}}}},
                "errors": errors,
            },

        ] + [
            # The audit key's lists (issue 16). UNCONFIRMED: not stated by the reference
            # documents (vendor-apis.md marks `read_users` UNCONFIRMED); the REST User and
            # ScriptTag resources as shopify.dev has documented them. Only the members read.
            {
                "method": "GET",
                "path": f"/admin/api/{{version}}/{resource}.json",
                "evidence": "UNCONFIRMED",
                "path_params": {"version": {"type": "string",
                                            "pattern": "^[0-9]{4}-(01|04|07|10)$"}},
                "query": {"limit": {"type": "integer", "minimum": 1, "maximum": 250}},
                "response": {"status": 200, "content_type": "application/json", "schema": {
                    "type": "object", "required": [resource],
                    "properties": {resource: {"type": "array", "items": {
                        "type": "object", "required": ["id"],
                        "properties": dict({"id": {"type": "integer"}}, **members)}}}}},
                "errors": errors,
            }
            for resource, members in [
                ("users", {"user_type": {"type": "string"},
                           "account_owner": {"type": "boolean"},
                           "permissions": {"type": "array", "items": {"type": "string"}}}),
                ("script_tags", {"src": {"type": "string"},
                                 "event": {"type": "string"},
                                 "display_scope": {"type": "string"}}),
            ]
        ],
    }


VENDORS = {"stripe": stripe, "shopify": shopify, "adyen": adyen, "iterable": iterable}

# ----------------------------------------------------------------------------------------------


def dump(v, indent=0, width=100):
    """Pretty JSON that keeps any value fitting on its line on one line (small, stable diffs)."""
    flat = json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if len(flat) + indent <= width or not isinstance(v, (dict, list)) or not v:
        return flat
    pad = " " * (indent + 2)
    if isinstance(v, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dump(v[k], indent + 2, width)}"
                 for k in sorted(v)]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if not any(isinstance(x, (dict, list)) for x in v):
        # Scalars (enums, required names): as many per line as fit.
        lines, line = [], ""
        for x in (json.dumps(x, ensure_ascii=False) for x in v):
            if line and len(pad) + len(line) + len(x) + 2 > width:
                lines.append(line + ",")
                line = ""
            line = f"{line}, {x}" if line else x
        items = [pad + ln for ln in lines + [line]]
        return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{dump(x, indent + 2, width)}" for x in v]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def target(vendor):
    return os.path.join(ROOT, "src", "vendors", vendor, "contract.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory; exit 1 with a diff if a file differs")
    ap.add_argument("--specs", default=DEFAULT_SPECS, help="the specs directory")
    args = ap.parse_args()
    if not os.path.isdir(args.specs):
        print(f"contracts: {os.path.normpath(args.specs)}: no such directory", file=sys.stderr)
        return 2
    try:
        generated = {v: dump(build(args.specs)) + "\n" for v, build in VENDORS.items()}
    except ContractError as e:
        print(f"contracts: {e}", file=sys.stderr)
        return 2
    changed = 0
    for vendor, text in generated.items():
        path = target(vendor)
        rel = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                old = f.read()
        except OSError:
            old = ""
        if old == text:
            continue
        changed += 1
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True), f"a/{rel}", f"b/{rel}"))
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"contracts: wrote {rel} ({len(text)} bytes)")
    if args.check and changed:
        print(f"contracts: {changed} file(s) differ from the specs; run python3 tools/contracts.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
