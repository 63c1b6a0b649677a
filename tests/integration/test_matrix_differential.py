"""`bordergate json canonical|sign|verify` and `xmatrix verify` against an independent
implementation: Debian's python3-canonicaljson and python3-signedjson (PyNaCl).

Thousands of generated documents (unicode keys incl. astral code points, random escaping and
whitespace, deep nesting, integer bounds, empty strings/objects) must canonicalise byte for byte
like canonicaljson; signatures made by Python verify in bordergate and the reverse; tampered
inputs are rejected by both; X-Matrix headers signed by Python verify in bordergate.
"""

import copy
import json
import os
import random
import subprocess
import tempfile
import unittest

import canonicaljson
from signedjson.key import (encode_verify_key_base64, generate_signing_key, get_verify_key,
                            write_signing_keys)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json

BORDERGATE = os.environ.get("BORDERGATE", "bordergate")
MAX_INT = 2**53 - 1
SEED = int(os.environ.get("BG_DIFF_SEED", "20261127"))
# Every signature case spawns the binary; under ASan a spawn costs ~10x, so fewer cases there.
SANITIZED = os.environ.get("BG_SANITIZE", "0") not in ("0", "", "OFF", "FALSE")
SIGNATURE_CASES = 12 if SANITIZED else 40
XMATRIX_CASES = 10 if SANITIZED else 30

CHARS = (list("abcxyzABC019 _-:.!/") + ["\"", "\\", "/", "\x7f", "\u00e9", "\u65e5", "\u2028",
         "\u2029", "\ud7ff", "\ue000", "\ufeff", "\uffff", "\U0001F600", "\U00010000",
         "\U0010FFFF"] + [chr(c) for c in range(0x20)])
SHORT = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def rand_string(r):
    return "".join(r.choice(CHARS) for _ in range(r.choice([0, 0, 1, 2, 3, 8, 20])))


def rand_int(r):
    return r.choice([0, 1, -1, 7, -42, MAX_INT, -MAX_INT, MAX_INT - 1, 2**31, -(2**31) - 1,
                     2**32, r.randint(-MAX_INT, MAX_INT)])


def rand_value(r, depth, max_depth):
    kinds = ["null", "bool", "int", "str"]
    if depth < max_depth:
        kinds += ["list", "dict", "dict"]
    k = r.choice(kinds)
    if k == "null":
        return None
    if k == "bool":
        return r.random() < 0.5
    if k == "int":
        return rand_int(r)
    if k == "str":
        return rand_string(r)
    n = r.choice([0, 1, 2, 3, 5])
    if k == "list":
        return [rand_value(r, depth + 1, max_depth) for _ in range(n)]
    return {rand_string(r): rand_value(r, depth + 1, max_depth) for _ in range(n)}


def deep_value(r, depth):
    v = rand_value(r, 0, 0)
    for _ in range(depth - 1):
        v = [v] if r.random() < 0.5 else {rand_string(r): v}
    return v


def u_escape(cp, r):
    h = "%04x" % cp
    return "\\u" + (h.upper() if r.random() < 0.5 else h)


def enc_string(s, r):
    """A JSON string literal with randomly chosen (valid) escaping."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        p = r.random()
        if ch == '"':
            out.append('\\"' if p < 0.7 else u_escape(cp, r))
        elif ch == "\\":
            out.append("\\\\" if p < 0.7 else u_escape(cp, r))
        elif cp < 0x20:
            out.append(SHORT[ch] if ch in SHORT and p < 0.7 else u_escape(cp, r))
        elif ch == "/" and p < 0.3:
            out.append("\\/")
        elif p < 0.15:
            if cp > 0xFFFF:
                v = cp - 0x10000
                out.append(u_escape(0xD800 + (v >> 10), r) + u_escape(0xDC00 + (v & 0x3FF), r))
            else:
                out.append(u_escape(cp, r))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def ws(r):
    return r.choice(["", "", "", " ", "\t", "  ", "\r", " \t "])


def enc_value(v, r):
    """Random but valid JSON text for v (key order shuffled, random whitespace); one line."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return enc_string(v, r)
    if isinstance(v, list):
        return "[" + ws(r) + ("," + ws(r)).join(enc_value(x, r) + ws(r) for x in v) + "]"
    items = list(v.items())
    r.shuffle(items)
    return "{" + ws(r) + ",".join(ws(r) + enc_string(k, r) + ws(r) + ":" + ws(r) + enc_value(x, r) + ws(r)
                                  for k, x in items) + "}"


def run(args, stdin=None):
    return subprocess.run([BORDERGATE] + args, input=stdin, capture_output=True, timeout=300)


class CanonicalJson(unittest.TestCase):
    def canonical_lines(self, texts):
        p = run(["json", "canonical", "--lines"], stdin=b"\n".join(texts) + b"\n")
        out = p.stdout.split(b"\n")
        self.assertEqual(out[-1], b"")
        return p, out[:-1]

    def test_generated_documents_match_canonicaljson(self):
        r = random.Random(SEED)
        values = [rand_value(r, 0, r.choice([1, 2, 3, 4, 6])) for _ in range(3000)]
        values += [deep_value(r, d) for d in (1, 2, 10, 32, 63, 64) for _ in range(5)]
        values += [{}, [], "", {"": ""}, {"": {}}, [[]], MAX_INT, -MAX_INT, 0,
                   {"\U0001F600": 1, "\uffff": 2, "a": 3, "B": 4, "\u00e9": 5}]
        texts = []
        for v in values:
            text = enc_value(v, r)
            self.assertEqual(json.loads(text), v)  # the generator itself is sound
            texts.append(text.encode("utf-8"))
        p, out = self.canonical_lines(texts)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[:2000])
        self.assertEqual(len(out), len(values))
        for v, text, got in zip(values, texts, out):
            self.assertEqual(got, canonicaljson.encode_canonical_json(v), text)

    def test_strictness(self):
        """Inputs bordergate must reject, with the reason; where Python rejects too it is noted."""
        cases = [
            (b'{"a":1,"a":2}', "duplicate_key"),
            (b'{"x":{"k":[],"k":[]}}', "duplicate_key"),
            (b'"\\ud800"', "lone_surrogate"),
            (b'"\\udc00x"', "lone_surrogate"),
            (b'{"\\udbff":1}', "lone_surrogate"),
            (b'"\xed\xa0\x80"', "invalid_utf8"),
            (b'"\xff"', "invalid_utf8"),
            (b'"\xc0\xaf"', "invalid_utf8"),
            (b"9007199254740992", "integer_out_of_range"),
            (b"-9007199254740992", "integer_out_of_range"),
            (b"1.5", "float_not_allowed"),
            (b"1e10", "float_not_allowed"),
            (b"-0", "float_not_allowed"),
            (b"[" * 65 + b"]" * 65, "depth_exceeded"),
            (b"NaN", "invalid_json"),
            (b"{} {}", "invalid_json"),
            (b"\xef\xbb\xbf{}", "invalid_json"),
        ]
        p, out = self.canonical_lines([c for c, _ in cases])
        self.assertEqual(p.returncode, 2)
        errors = p.stderr.decode().splitlines()
        self.assertEqual(out, [b""] * len(cases))
        self.assertEqual(len(errors), len(cases))
        for (text, code), err in zip(cases, errors):
            self.assertIn(": " + code + ": ", err, text)
        # The independent implementation cannot encode lone surrogates either.
        for text in (b'"\\ud800"', b'"\\udc00x"'):
            with self.assertRaises(UnicodeEncodeError):
                canonicaljson.encode_canonical_json(json.loads(text))


class Signatures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.key = generate_signing_key("py1")
        cls.key_file = os.path.join(cls.tmp.name, "signing.key")
        with open(cls.key_file, "w") as f:
            write_signing_keys(f, [cls.key])
        cls.vk = encode_verify_key_base64(get_verify_key(cls.key))
        cls.key_arg = "ed25519:py1:" + cls.vk

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def write(self, name, obj):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(canonicaljson.encode_pretty_printed_json(obj))
        return path

    def documents(self, n):
        r = random.Random(SEED + 1)
        docs = []
        for i in range(n):
            d = {"i": i, "content": rand_value(r, 0, 3), rand_string(r) + "k": rand_value(r, 0, 2),
                 "unsigned": {"age": r.randint(0, 1000)}}
            if i % 3 == 0:
                d["signatures"] = {"other.example": {"ed25519:z": "c29tZXRoaW5n"}}
            docs.append(d)
        return docs

    def test_python_signs_bordergate_verifies(self):
        for i, doc in enumerate(self.documents(SIGNATURE_CASES)):
            signed = sign_json(copy.deepcopy(doc), "py.example", self.key)
            path = self.write("py%d.json" % i, signed)
            p = run(["json", "verify", "--server", "py.example", "--key", self.key_arg, path])
            self.assertEqual(p.returncode, 0, p.stderr)
            # unsigned is not covered: changing it keeps the signature valid.
            signed["unsigned"] = {"age": -1}
            p = run(["json", "verify", "--server", "py.example", "--key", self.key_arg, self.write("u.json", signed)])
            self.assertEqual(p.returncode, 0, p.stderr)
            tampered = copy.deepcopy(signed)
            tampered["i"] = i + 1
            p = run(["json", "verify", "--server", "py.example", "--key", self.key_arg, self.write("t.json", tampered)])
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"bad_signature", p.stderr)
            with self.assertRaises(SignatureVerifyException):
                verify_signed_json(tampered, "py.example", get_verify_key(self.key))

    def test_bordergate_signs_python_verifies(self):
        for i, doc in enumerate(self.documents(SIGNATURE_CASES)):
            p = run(["json", "sign", "--key", self.key_file, "--server", "bg.example", self.write("bg%d.json" % i, doc)])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout.endswith(b"\n"))
            signed = json.loads(p.stdout)
            self.assertEqual(p.stdout[:-1], canonicaljson.encode_canonical_json(signed))
            verify_signed_json(signed, "bg.example", get_verify_key(self.key))
            if "signatures" in doc:  # other servers' signatures are kept
                self.assertEqual(signed["signatures"]["other.example"], doc["signatures"]["other.example"])
            # Same key, same bytes: Ed25519 is deterministic, so Python's signature is identical.
            expected = sign_json(copy.deepcopy(doc), "bg.example", self.key)
            self.assertEqual(signed["signatures"]["bg.example"], expected["signatures"]["bg.example"])
            signed["content"] = [signed.get("content")]
            with self.assertRaises(SignatureVerifyException):
                verify_signed_json(signed, "bg.example", get_verify_key(self.key))


class XMatrix(unittest.TestCase):
    ORIGIN = "py.example:8448"
    DEST = "gateway.example"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.key = generate_signing_key("x1")
        cls.keys_file = os.path.join(cls.tmp.name, "keys.json")
        with open(cls.keys_file, "w") as f:
            json.dump({cls.ORIGIN: {"ed25519:x1": encode_verify_key_base64(get_verify_key(cls.key))}}, f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def sign(self, method, uri, content=None, destination=None):
        obj = {"method": method, "uri": uri, "origin": self.ORIGIN, "destination": destination or self.DEST}
        if content is not None:
            obj["content"] = content
        signed = sign_json(obj, self.ORIGIN, self.key)
        return signed["signatures"][self.ORIGIN]["ed25519:x1"]

    def verify(self, method, uri, header, body=None):
        args = ["xmatrix", "verify", "--method", method, "--uri", uri, "--destination", self.DEST,
                "--keys", self.keys_file, "--header", header]
        if body is not None:
            path = os.path.join(self.tmp.name, "body.json")
            with open(path, "w") as f:
                f.write(body)
            args += ["--body", path]
        return run(args)

    def test_python_signed_requests(self):
        r = random.Random(SEED + 2)
        uris = ["/_matrix/federation/v1/version",
                "/_matrix/federation/v1/query/directory?room_alias=%23a%3Ab.example",
                "/_matrix/federation/v1/send/1700000000000",
                "/_matrix/federation/v2/invite/%21r%3Ab/%24e?x=1&y=%2F"]
        for i in range(XMATRIX_CASES):
            uri = r.choice(uris)
            content = None if i % 3 == 0 else {"pdus": [], "edus": [rand_value(r, 0, 2)], "origin": self.ORIGIN}
            method = "GET" if content is None else "PUT"
            sig = self.sign(method, uri, content)
            params = ['origin="%s"' % self.ORIGIN, 'destination="%s"' % self.DEST, 'key="ed25519:x1"', 'sig="%s"' % sig]
            r.shuffle(params)
            header = "X-Matrix " + r.choice([",", ", ", " ,\t"]).join(params)
            body = None if content is None else json.dumps(content, indent=r.choice([None, 2]))
            p = self.verify(method, uri, header, body)
            self.assertEqual(p.returncode, 0, (header, p.stderr))
            # Any change to what was signed fails.
            self.assertEqual(self.verify("POST", uri, header, body).returncode, 1)
            self.assertEqual(self.verify(method, uri + "&z", header, body).returncode, 1)
            if content is not None:
                changed = dict(content, pdus=[{}])
                self.assertEqual(self.verify(method, uri, header, json.dumps(changed)).returncode, 1)

    def test_rejections(self):
        uri = "/_matrix/federation/v1/version"
        sig = self.sign("GET", uri, destination="elsewhere.example")
        header = 'X-Matrix origin="%s",destination="elsewhere.example",key="ed25519:x1",sig="%s"' % (self.ORIGIN, sig)
        p = self.verify("GET", uri, header)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"wrong_destination", p.stderr)
        header = 'X-Matrix origin="%s",key="ed25519:x1",sig="%s"' % (self.ORIGIN, sig)  # signed for someone else
        self.assertIn(b"bad_signature", self.verify("GET", uri, header).stderr)
        header = 'X-Matrix origin="%s",key="ed25519:x1",sig="%s' % (self.ORIGIN, sig)
        p = self.verify("GET", uri, header)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"bad_xmatrix_header", p.stderr)
        sig = self.sign("GET", uri)
        header = 'X-Matrix origin="%s",key="ed25519:unknown",sig="%s"' % (self.ORIGIN, sig)
        self.assertIn(b"unknown_key", self.verify("GET", uri, header).stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
