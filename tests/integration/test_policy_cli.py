#!/usr/bin/python3
"""The auditor's CLI end to end: every `bordergate policy` command on the shipped example
policy, an invalid policy, an expected-failure tests file, and every command quoted in
docs/auditor.md (run exactly as written, from a directory that mirrors the repository)."""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

BORDERGATE = os.environ["BORDERGATE"]
SRC = os.environ["BG_SOURCE_DIR"]
POLICY = os.path.join(SRC, "deploy/examples/policy.yaml")
TESTS = os.path.join(SRC, "deploy/examples/policy-tests.yaml")
FAILING = os.path.join(SRC, "tests/data/policy/failing-tests.yaml")
PROPOSED = os.path.join(SRC, "tests/data/policy/policy-proposed.yaml")

failures = []


def run(args, cwd=None):
    p = subprocess.run([BORDERGATE, "policy"] + args, cwd=cwd, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what, detail=""):
    if not cond:
        failures.append(what + ("\n" + detail if detail else ""))


def test_check():
    rc, out, _ = run(["check", POLICY])
    expect(rc == 0, "check example exits 0", out)
    expect("0 error(s), 0 warning(s)" in out, "check example is clean", out)
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "broken.yaml")
        with open(bad, "w") as f:
            f.write("version: 1\nserver_name: core.example\nrules:\n"
                    "  - id: r\n    peer: any\n    action: allow\n    endpoints: [sendd]\n"
                    "    colour: blue\n")
        rc, out, _ = run(["check", bad])
        expect(rc == 1, "check broken exits 1", out)
        expect(re.search(r"broken\.yaml:7:17: error: no endpoint `sendd`.*\[unknown_endpoint\]", out),
               "check reports the bad endpoint with its position", out)
        expect(re.search(r"broken\.yaml:8:5: error: unknown key `colour`", out),
               "check reports the unknown key with its position", out)
        warn = os.path.join(d, "warn.yaml")
        with open(warn, "w") as f:
            f.write("version: 1\nserver_name: core.example\nfederations: {p: {servers: [p.example]}}\n"
                    "rules:\n  - {id: r, federation: p, action: deny, edu_types: [m.typing]}\n")
        rc, out, _ = run(["check", warn])
        expect(rc == 0, "warnings alone do not fail check", out)
        expect("warning:" in out and "[holds_back_common_edu]" in out, "check prints warnings", out)
    rc, out, _ = run(["check", "/nonexistent/policy.yaml"])
    expect(rc == 2 and "[cannot_read]" in out, "check of a missing file cannot run", out)


def test_explain():
    rc, out, _ = run(["explain", POLICY, "--direction", "in", "--origin",
                      "opendesk.stadt-a.example", "--endpoint", "publicRooms"])
    expect(rc == 0, "explain exits 0", out)
    expect("Decision: DENY (rule opendesk-no-directory, reason denied_by_rule)" in out,
           "explain names rule and reason", out)
    expect("opendesk-base" in out and "skipped: endpoint not listed" in out,
           "explain lists the rules considered", out)
    rc, out, _ = run(["explain", POLICY, "--direction", "in", "--endpoint", "key.query", "--json"])
    j = json.loads(out)
    expect(j["action"] == "deny" and j["rule"] == "no-notary-for-strangers" and j["peer"] is None,
           "explain --json for an unknown origin", out)
    rc, out, _ = run(["explain", POLICY, "--direction", "in", "--origin", "opendesk.land-b.example",
                      "--endpoint", "send", "--event-type", "m.room.message", "--event-type",
                      "org.example.poll", "--json"])
    j = json.loads(out)
    expect(j["action"] == "quarantine" and len(j["findings"]) == 2
           and j["findings"][1]["action"] == "quarantine", "explain lists per-PDU findings", out)
    # A join into a room whose members the gateway knows (--room-server, repeatable).
    join = ["explain", POLICY, "--direction", "in", "--origin", "bm.bund.example", "--endpoint",
            "make_join", "--room", "!r:core.bordergate.test", "--user", "@a:bm.bund.example"]
    rc, out, _ = run(join + ["--room-server", "bm.bund.example", "--room-server",
                             "stranger.example"])
    expect(rc == 0 and "Decision: DENY (rule bm-no-joins-into-mixed-rooms" in out
           and "room members on bm.bund.example stranger.example" in out,
           "explain judges a join into a mixed room", out)
    rc, out, _ = run(join)
    expect(rc == 0 and "Decision: ALLOW (rule bm-full" in out
           and "skipped: the room's membership is not known to the gateway" in out,
           "explain says when a room's membership is unknown", out)
    rc, _, err = run(["explain", POLICY, "--direction", "in", "--endpoint", "nope"])
    expect(rc == 2 and "no endpoint `nope`" in err, "explain rejects unknown endpoints", err)


def test_test():
    rc, out, _ = run(["test", POLICY, TESTS])
    expect(rc == 0, "shipped tests pass", out)
    expect(re.search(r"^(\d+) passed, 0 failed$", out, re.M), "summary line", out)
    rc, out, _ = run(["test", POLICY, FAILING])
    expect(rc == 1, "expected-failure tests exit 1", out)
    expect("FAIL OpenDesk browses the room directory (wrong on purpose) (line 9): got action deny "
           "(expected allow) rule opendesk-no-directory (expected opendesk-base)" in out,
           "failure names what was expected", out)
    expect("    Decision: DENY (rule opendesk-no-directory" in out, "failure shows its trace", out)
    expect("2 passed, 1 failed" in out, "failure summary", out)


def test_diff():
    rc, out, _ = run(["diff", POLICY, PROPOSED])
    expect(rc == 0, "diff exits 0 without --exit-code", out)
    expect("+ gained  inbound publicRooms: deny (opendesk-no-directory) -> allow (land-b-directory)"
           in out, "diff shows the gained capability", out)
    expect("- lost    inbound event type im.vector.modular.widgets: report" in out,
           "diff shows the lost capability", out)
    expect("+ added    land-b-directory" in out, "diff lists added rules", out)
    rc, out, _ = run(["diff", "--exit-code", POLICY, PROPOSED])
    expect(rc == 1, "diff --exit-code exits 1 on differences", out)
    rc, out, _ = run(["diff", "--exit-code", POLICY, POLICY])
    expect(rc == 0 and "no semantic differences" in out, "diff of a file with itself", out)


def test_report():
    rc, out, _ = run(["report", POLICY, "--format", "md"])
    expect(rc == 0 and out.startswith("# bordergate policy report: core.bordergate.test"),
           "markdown report", out[:200])
    expect("| publicRooms | allow (bm-full) | allow (bm-full) | deny (opendesk-no-directory) | "
           "deny (opendesk-no-directory) | deny | deny | n/a |" in out, "endpoint matrix row", out)
    expect("| key.query | n/a | allow (bm-full) |" in out, "unauthenticated endpoints inbound are n/a", out)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.html")
        rc, out, _ = run(["report", POLICY, "--format", "html", "-o", path])
        html = open(path).read()
        expect(rc == 0 and html.startswith("<!DOCTYPE html>"), "html report written")
        expect(not re.search(r"<script|<link|src=|href=|https?://", html),
               "html report is self-contained")
        expect('<td class="deny">deny (opendesk-no-directory)</td>' in html, "html matrix cell")


def test_auditor_doc_commands():
    doc = open(os.path.join(SRC, "docs/auditor.md")).read()
    commands = re.findall(r"^\$ (bordergate policy .*?)\s+# exit (\d)$", doc, re.M)
    expect(len(commands) >= 12, "docs/auditor.md quotes the workflow", str(len(commands)))
    with tempfile.TemporaryDirectory() as d:
        for sub in ("deploy", "tests"):
            os.symlink(os.path.join(SRC, sub), os.path.join(d, sub))
        for command, status in commands:
            argv = shlex.split(command)
            p = subprocess.run([BORDERGATE] + argv[1:], cwd=d, capture_output=True, text=True,
                               timeout=120)
            expect(p.returncode == int(status), "doc command: " + command,
                   "exit %d, expected %s\n%s%s" % (p.returncode, status, p.stdout[-2000:], p.stderr))
        expect(os.path.exists(os.path.join(d, "policy-report.html")), "doc report written")


def test_policy_doc_examples():
    doc = open(os.path.join(SRC, "docs/policy.md")).read()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    expect(len(blocks) >= 4, "docs/policy.md has YAML examples", str(len(blocks)))
    head = "version: 1\nserver_name: core.bordergate.test\n"
    with tempfile.TemporaryDirectory() as d:
        for i, block in enumerate(blocks):
            text = block
            if block.startswith("- id:"):
                text = "rules:\n" + "".join("  " + line + "\n" for line in block.splitlines())
            if not text.startswith("version:"):
                # A top-level `federations:` key (not one inside a rule's key name).
                if not re.search(r"^federations:", text, re.M):
                    text = "federations: {opendesk: {servers: [opendesk.stadt-a.example]}}\n" + text
                text = head + text
            path = os.path.join(d, "doc%d.yaml" % i)
            with open(path, "w") as f:
                f.write(text)
            rc, out, _ = run(["check", path])
            expect(rc == 0 and " 0 error(s)" in out, "docs/policy.md example %d loads" % i,
                   text + "\n" + out)


for t in (test_policy_doc_examples, test_check, test_explain, test_test, test_diff, test_report, test_auditor_doc_commands):
    t()
for f in failures:
    print("FAIL:", f)
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
