"""openapi_check.py - what tests/e2e/test_openapi.py needs to hold the service
to docs/openapi.yaml: load the document, follow $refs, validate JSON values
against the subset of JSON Schema the document uses, talk HTTP (http.client
only), and check one answer against the operation that documents it.

Python standard library + PyYAML (Debian: python3-yaml).
"""
import http.client
import json
import math
import os
import re
import urllib.parse

import yaml

DOC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "docs", "openapi.yaml")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
                "trace")

# The JSON Schema keywords validate() implements, and those it may ignore
# because they only annotate.  The structural test refuses any other keyword
# in the document, so that nothing the document says goes unchecked.
SCHEMA_KEYWORDS = {
    "$ref", "type", "enum", "required", "properties", "additionalProperties",
    "patternProperties", "pattern", "minLength", "maxLength", "minimum", "maximum", "items",
    "maxItems", "minItems", "oneOf",
}
SCHEMA_ANNOTATIONS = {"description", "format", "default", "examples",
                      "title", "deprecated", "readOnly", "writeOnly"}


# --------------------------------------------------------------------------
# The document


def load_doc(path=DOC_PATH):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve_pointer(doc, ref):
    """The value a local $ref ("#/a/b") points at; KeyError if none."""
    if not ref.startswith("#"):
        raise KeyError(f"only local references are supported: {ref}")
    node = doc
    frag = urllib.parse.unquote(ref[1:])
    if frag in ("", "/"):
        return doc
    for part in frag.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"{ref}: no '{part}'")
    return node


def deref(doc, obj, _depth=0):
    """Follows a Reference Object ({"$ref": ...}) to what it names."""
    while isinstance(obj, dict) and "$ref" in obj:
        _depth += 1
        if _depth > 50:
            raise ValueError("reference loop")
        obj = resolve_pointer(doc, obj["$ref"])
    return obj


def iter_refs(node, where="#"):
    """(location, ref) for every $ref in the document, example values
    excluded (they are literal data)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            elif k in ("example",):
                continue
            elif k == "value" and where.split("/")[-2:-1] == ["examples"]:
                continue
            else:
                yield from iter_refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from iter_refs(v, f"{where}/{i}")


def operations(doc):
    """(path, METHOD, operation) for every documented operation."""
    for path, item in doc.get("paths", {}).items():
        item = deref(doc, item)
        for m in HTTP_METHODS:
            if m in item:
                yield path, m.upper(), item[m]


def iter_schemas(doc):
    """(location, schema) for every Schema Object in the document, nested
    ones included."""
    found = []

    def walk_schema(s, where):
        if not isinstance(s, dict):
            return
        found.append((where, s))
        for k in ("properties", "patternProperties"):
            for name, sub in (s.get(k) or {}).items():
                walk_schema(sub, f"{where}/{k}/{name}")
        for k in ("items", "additionalProperties"):
            if isinstance(s.get(k), dict):
                walk_schema(s[k], f"{where}/{k}")

    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "schema" and isinstance(v, dict):
                    walk_schema(v, f"{where}/schema")
                elif k in ("example", "examples"):
                    continue  # literal data, not schemas
                else:
                    walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    for name, s in (doc.get("components", {}).get("schemas") or {}).items():
        walk_schema(s, f"#/components/schemas/{name}")
    walk(doc.get("paths", {}), "#/paths")
    for section in ("parameters", "headers", "responses", "requestBodies"):
        walk(doc.get("components", {}).get(section, {}),
             f"#/components/{section}")
    return found


# --------------------------------------------------------------------------
# JSON Schema, the subset the document uses


def _type_ok(t, v):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (
            isinstance(v, float) and math.isfinite(v) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise ValueError(f"unknown type {t!r}")


def _json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return a == b


def validate(doc, schema, value, where="$"):
    """Errors (a list of strings, empty when valid) of value against schema."""
    errors = []
    _validate(doc, schema, value, where, errors)
    return errors


def _validate(doc, schema, v, where, errors):
    if schema is True:
        return
    if schema is False:
        errors.append(f"{where}: no value is allowed here")
        return
    if not isinstance(schema, dict):
        raise ValueError(f"not a schema at {where}: {schema!r}")
    unknown = set(schema) - SCHEMA_KEYWORDS - SCHEMA_ANNOTATIONS
    if unknown:
        raise ValueError(f"schema keywords not supported by this validator: {sorted(unknown)}")
    if "oneOf" in schema:
        # exactly one of the subschemas holds
        fits = [sub for sub in schema["oneOf"] if not validate(doc, sub, v, where)]
        if len(fits) != 1:
            errors.append(f"{where}: {json.dumps(v)[:80]} matches {len(fits)} of the "
                          f"oneOf subschemas, not exactly one")
    if "$ref" in schema:
        _validate(doc, resolve_pointer(doc, schema["$ref"]), v, where, errors)

    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(t, v) for t in types):
            errors.append(f"{where}: {json.dumps(v)[:80]} is not of type {'/'.join(types)}")
            return
    if "enum" in schema and not any(_json_equal(v, e) for e in schema["enum"]):
        errors.append(f"{where}: {json.dumps(v)[:80]} is not one of {schema['enum']}")

    if isinstance(v, str):
        if "minLength" in schema and len(v) < schema["minLength"]:
            errors.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errors.append(f"{where}: {v[:80]!r} does not match {schema['pattern']!r}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in schema and v < schema["minimum"]:
            errors.append(f"{where}: {v} is less than {schema['minimum']}")
        if "maximum" in schema and v > schema["maximum"]:
            errors.append(f"{where}: {v} is more than {schema['maximum']}")
    if isinstance(v, dict):
        for name in schema.get("required", []):
            if name not in v:
                errors.append(f"{where}: required key '{name}' is missing")
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for name, sub in v.items():
            matched = [pat for pat in patterns if re.search(pat, name)]
            for pat in matched:
                _validate(doc, patterns[pat], sub, f"{where}.{name}", errors)
            if name in props:
                _validate(doc, props[name], sub, f"{where}.{name}", errors)
            elif matched:
                pass  # additionalProperties applies to the other keys only
            elif "additionalProperties" in schema:
                ap = schema["additionalProperties"]
                if ap is False:
                    errors.append(f"{where}: key '{name}' is not allowed")
                elif isinstance(ap, dict):
                    _validate(doc, ap, sub, f"{where}.{name}", errors)
    if isinstance(v, list):
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "minItems" in schema and len(v) < schema["minItems"]:
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(v):
                _validate(doc, schema["items"], item, f"{where}[{i}]", errors)


# --------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def media_type(self):
        ct = self.headers.get("Content-Type") or ""
        return ct.split(";", 1)[0].strip().lower()

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        text = self.body[:300].decode("utf-8", "replace")
        return f"<HTTP {self.status} {self.headers.get('Content-Type')!r} {text!r}>"


class Client:
    """One HTTP/1.1 connection at a time to base_url (http only)."""

    def __init__(self, base_url, timeout=15):
        u = urllib.parse.urlsplit(base_url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"CONTACTS_URL must look like http://HOST:PORT, not {base_url!r}")
        self.host = u.hostname
        self.port = u.port or 80
        self.prefix = u.path.rstrip("/")
        self.timeout = timeout

    def request(self, method, path, query=None, headers=None, body=None,
                host=None):
        """query: a str (sent as is) or a list of (name, value) pairs."""
        target = self.prefix + path
        if query:
            if not isinstance(query, str):
                query = urllib.parse.urlencode(query)
            target += "?" + query
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(host or self.host, self.port,
                                          timeout=self.timeout)
        try:
            hdrs = dict(headers or {})
            try:
                conn.request(method, target, body=body, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                # nginx may answer (413) and close before it read everything.
                pass
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.msg, data)
        finally:
            conn.close()


# --------------------------------------------------------------------------
# An answer against its documentation


def documented_response(doc, operation, status):
    """The Response Object an operation documents for a status (exact code,
    then NXX, then default), dereferenced; None if none."""
    responses = operation.get("responses", {})
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return deref(doc, responses[key])
    return None


def _header_value(doc, schema, raw):
    schema = deref(doc, schema)
    t = schema.get("type")
    if t == "integer":
        if not re.fullmatch(r"[0-9]+", raw.strip()):
            return raw  # validate() reports it as not an integer
        return int(raw.strip())
    return raw


def example_codes(doc, response):
    """The error codes of a documented response's examples (an empty set when
    it has no error examples)."""
    codes = set()
    for media in (response.get("content") or {}).values():
        for ex in (media.get("examples") or {}).values():
            ex = deref(doc, ex)
            value = ex.get("value")
            if isinstance(value, dict) and isinstance(value.get("error"), dict):
                codes.add(value["error"].get("code"))
    return codes


def check_against(doc, response_obj, resp, what=""):
    """Problems (a list of strings) of an answer against a Response Object:
    documented media type, body valid against its schema, required headers
    present, every documented header valid.  Returns (problems, parsed body
    or None)."""
    problems = []
    parsed = None
    r = deref(doc, response_obj)
    for name, h in (r.get("headers") or {}).items():
        h = deref(doc, h)
        raw = resp.header(name)
        if raw is None:
            if h.get("required"):
                problems.append(f"{what}: header {name} is missing")
            continue
        errs = validate(doc, h.get("schema", {}), _header_value(doc, h.get("schema", {}), raw),
                        f"header {name}")
        problems += [f"{what}: {e}" for e in errs]
    content = r.get("content") or {}
    if content:
        mt = resp.media_type()
        media = {k.lower(): v for k, v in content.items()}.get(mt)
        if media is None:
            problems.append(f"{what}: Content-Type {resp.header('Content-Type')!r} "
                            f"is not documented ({', '.join(content)})")
        elif mt == "application/json" or mt.endswith("+json"):
            try:
                parsed = resp.json()
            except ValueError as e:
                problems.append(f"{what}: body is not JSON ({e}): {resp.body[:200]!r}")
            else:
                if "schema" in media:
                    problems += [f"{what}: {e}" for e in
                                 validate(doc, media["schema"], parsed, "body")]
        else:
            try:
                text = resp.body.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"{what}: body is not UTF-8 text")
            else:
                if "schema" in media:
                    problems += [f"{what}: {e}" for e in
                                 validate(doc, media["schema"], text, "body")]
    return problems, parsed
