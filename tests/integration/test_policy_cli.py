#!/usr/bin/python3
"""The auditor's CLI end to end: every `bordergate policy` command on the shipped example
policy, an invalid policy, an expected-failure tests file, the machine-readable formats CI reads
(JSON parsed with json, JUnit XML with xml.etree), coverage and its thresholds, and every command
quoted in docs/auditor.md (run exactly as written, from a directory that mirrors the repository)."""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

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


def rule_line(rule_id):
    """The line of `- id: RULE` in the example policy: where coverage must point."""
    for n, line in enumerate(open(POLICY), 1):
        if line.strip() == "- id: " + rule_id:
            return n
    raise AssertionError("no rule " + rule_id)


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def test_check_json():
    rc, out, _ = run(["check", POLICY, "--format", "json"])
    j = json.loads(out)
    expect(rc == 0 and j["valid"] is True and j["errors"] == 0 and j["diagnostics"] == [],
           "check --format json of the example", out)
    expect(j["rules"] == 16 and j["federations"] == 2 and j["settings"] == 2,
           "check --format json counts what was loaded", out)
    with tempfile.TemporaryDirectory() as d:
        bad = write(d, "broken.yaml", "version: 1\nserver_name: core.example\nrules:\n"
                    "  - id: r\n    peer: any\n    action: allow\n    endpoints: [sendd]\n")
        out_file = os.path.join(d, "check.json")
        rc, out, _ = run(["check", bad, "--format", "json", "-o", out_file])
        j = json.load(open(out_file))
        expect(rc == 1 and out == "", "check -o writes the file, not stdout", out)
        expect(j["valid"] is False and j["rules"] is None and
               [(x["line"], x["column"], x["severity"], x["code"]) for x in j["diagnostics"]]
               == [(7, 17, "error", "unknown_endpoint")], "check JSON diagnostics", json.dumps(j))
    rc, out, _ = run(["check", "/nonexistent/policy.yaml", "--format", "json"])
    j = json.loads(out)
    expect(rc == 2 and j["diagnostics"][0]["code"] == "cannot_read",
           "check --format json of a missing file exits 2", out)
    rc, _, err = run(["check", POLICY, "--format", "yaml"])
    expect(rc == 2, "check rejects an unknown format as a usage error", err)


def test_coverage_text():
    rc, out, _ = run(["test", POLICY, TESTS, "--coverage"])
    expect(rc == 0 and re.search(r"^\d+ passed, 0 failed\ncoverage of \d+ test\(s\): 16 of 16 rules "
                                 r"exercised \(100\.0%\)", out, re.M),
           "the shipped tests exercise every rule", out[-3000:])
    # A condition no shipped test sees false: the direction of an inbound-only rule.
    expect("policy.yaml:%d: rule bm-widgets-shadow: direction seen only true\n"
           % rule_line("bm-widgets-shadow") in out, "coverage names an uncovered condition", out)
    rc, out, _ = run(["test", POLICY, TESTS, "--min-coverage", "100"])
    expect(rc == 0 and "PASS coverage: rules 100.0% meets --min-coverage 100%" in out,
           "--min-coverage 100 is met by the shipped tests", out[-2000:])
    rc, out, _ = run(["test", POLICY, TESTS, "--min-condition-coverage", "100"])
    expect(rc == 1 and re.search(r"^FAIL coverage: conditions \d+\.\d% is below "
                                 r"--min-condition-coverage 100%$", out, re.M),
           "--min-condition-coverage 100 is not met, exit 1 and say so", out[-2000:])
    with tempfile.TemporaryDirectory() as d:
        one = write(d, "one.yaml", "version: 1\ntests:\n"
                    "  - name: the Core is no notary\n"
                    "    request: {direction: inbound, endpoint: key.query}\n"
                    "    expect: {action: deny, rule: no-notary-for-strangers}\n")
        rc, out, _ = run(["test", POLICY, one, "--min-coverage", "10"])
        expect(rc == 1 and "1 passed, 0 failed" in out
               and "FAIL coverage: rules 6.2% is below --min-coverage 10%" in out,
               "one test of 16 rules is below 10%: exit 1 although every test passed", out)
        expect("policy.yaml:%d: rule bm-full: never matched by any test\n" % rule_line("bm-full")
               in out, "an unexercised rule is listed with file:line", out)
        expect("rule no-notary-for-strangers: never matched" not in out,
               "the exercised rule is not listed as never matched", out)
        expect(re.search(r"settings bundesmessenger-limits: never in force", out),
               "settings entries no test resolved are listed", out)
        expect("default deny never reached" in out, "the default is reported", out)
        rc, out, _ = run(["test", POLICY, one, "--min-coverage", "6"])
        expect(rc == 0, "a threshold that is met exits 0", out)
    rc, _, err = run(["test", POLICY, TESTS, "--min-coverage", "120"])
    expect(rc == 2, "a percentage above 100 is a usage error", err)
    rc, _, err = run(["test", POLICY, TESTS, "--format", "xml"])
    expect(rc == 2, "an unknown format is a usage error", err)
    rc, _, err = run(["test", POLICY, "/nonexistent/tests.yaml", "--format", "json"])
    expect(rc == 2, "an unreadable tests file exits 2", err)


def test_test_json():
    rc, out, _ = run(["test", POLICY, TESTS, "--format", "json", "--coverage"])
    j = json.loads(out)
    n = len(j["tests"])
    expect(rc == 0 and j["summary"] == {"tests": n, "passed": n, "failed": 0} and n >= 25,
           "test --format json summary", out[:500])
    expect(all(t["passed"] and t["failure"] is None for t in j["tests"]), "every test passed")
    cov = j["coverage"]
    expect(cov["summary"]["rules"] == 16 and cov["summary"]["rules_exercised"] == 16,
           "coverage is in the JSON", json.dumps(cov["summary"]))
    widgets = [r for r in cov["rules"] if r["id"] == "bm-widgets-shadow"]
    expect(len(widgets) == 1 and widgets[0]["line"] == rule_line("bm-widgets-shadow")
           and widgets[0]["reported_in"] == [] and widgets[0]["decided_in"]
           and {"condition": "direction", "covered": False, "seen": "only_true"}
           in widgets[0]["conditions"], "per-rule coverage in the JSON", json.dumps(widgets))
    rc, out, err = run(["test", POLICY, FAILING, "--format", "json", "--min-coverage", "90"])
    j = json.loads(out)
    failed = [t for t in j["tests"] if not t["passed"]]
    expect(rc == 1 and j["summary"]["failed"] == 1 and len(failed) == 1
           and failed[0]["line"] == 9 and failed[0]["actual"]["rule"] == "opendesk-no-directory"
           and failed[0]["expected"] == {"action": "allow", "rule": "opendesk-base"}
           and "Decision: DENY" in failed[0]["explanation"], "a failed test in the JSON", out)
    expect(j["thresholds"][0]["met"] is False and "below --min-coverage 90" in err,
           "a missed threshold is in the JSON and on stderr", err)


def test_test_junit():
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "junit.xml")
        rc, out, _ = run(["test", POLICY, FAILING, "--format", "junit", "-o", report,
                          "--min-coverage", "5"])
        expect(rc == 1 and out == "", "junit to a file, exit 1 for the failed test", out)
        root = ET.parse(report).getroot()
        expect(root.tag == "testsuites" and root.get("tests") == "4"
               and root.get("failures") == "1", "testsuites counts", ET.tostring(root)[:300])
        suites = root.findall("testsuite")
        expect([s.get("name") for s in suites] == [FAILING, "coverage"], "one suite per file")
        cases = suites[0].findall("testcase")
        expect(len(cases) == 3 and suites[0].get("failures") == "1", "three test cases")
        failures = [(c.get("name"), c.find("failure")) for c in cases if c.find("failure") is not None]
        expect(len(failures) == 1 and failures[0][0] ==
               "OpenDesk browses the room directory (wrong on purpose)", "the failed case")
        if failures:
            f = failures[0][1]
            expect(f.get("message").startswith("line 9: got action deny (expected allow)")
                   and "Decision: DENY (rule opendesk-no-directory" in f.text
                   and "Rules considered" in f.text, "the failure carries the explanation", f.text)
        coverage_cases = suites[1].findall("testcase") if len(suites) > 1 else []
        expect(len(coverage_cases) == 1 and coverage_cases[0].find("failure") is None,
               "a met threshold is a passing coverage case")
        props = {p.get("name"): p.get("value") for p in root.iter("property")}
        expect(props.get("policy") == POLICY and props.get("coverage.rules", "").endswith("%"),
               "properties name the policy and the coverage", str(props))


HOSTILE = 'a <b> & "c" \'d\' ]]> e\x01f\x1bg\th'


def test_hostile_names():
    # YAML double-quoted escapes put the control characters in the name.
    name_yaml = ('"a <b> & \\"c\\" \'d\' ]]> e\\x01f\\x1bg\\th"')
    with tempfile.TemporaryDirectory() as d:
        tests = write(d, "hostile.yaml", "version: 1\ntests:\n"
                      "  - name: %s\n"
                      "    request: {direction: inbound, origin: opendesk.stadt-a.example, "
                      "endpoint: publicRooms}\n"
                      "    expect: {action: allow}\n"
                      "  - name: %s\n"
                      "    request: {direction: inbound, endpoint: \"<nope>&]]>\"}\n"
                      "    expect: {action: deny}\n" % (name_yaml, name_yaml))
        rc, out, _ = run(["test", POLICY, tests, "--format", "json", "--coverage"])
        try:
            j = json.loads(out)
            expect(rc == 1 and [t["name"] for t in j["tests"]] == [HOSTILE, HOSTILE],
                   "JSON carries a hostile name exactly", out)
            expect("<nope>&]]>" in j["tests"][1]["failure"], "JSON carries a hostile message", out)
        except ValueError as e:
            expect(False, "JSON with a hostile name parses: %s" % e, out)
        rc, out, _ = run(["test", POLICY, tests, "--format", "junit", "--coverage"])
        try:
            root = ET.fromstring(out.encode("utf-8"))
            cases = root.findall("testsuite/testcase")
            # XML 1.0 cannot carry \x01 or \x1b at all: they come out spelt as \x01, \x1b.
            shown = HOSTILE.replace("\x01", "\\x01").replace("\x1b", "\\x1b")
            expect(rc == 1 and [c.get("name") for c in cases] == [shown, shown],
                   "JUnit carries a hostile name, control characters spelt out",
                   repr([c.get("name") for c in cases]))
            expect(all(c.find("failure") is not None for c in cases)
                   and "<nope>&]]>" in cases[1].find("failure").get("message"),
                   "JUnit failures with hostile messages", out)
        except ET.ParseError as e:
            expect(False, "JUnit XML with a hostile name is well-formed: %s" % e, out)


def test_diff_json():
    rc, out, _ = run(["diff", POLICY, PROPOSED, "--format", "json"])
    j = json.loads(out)
    changes = [c for p in j["peers"] for c in p["changes"]]
    gained = [c for c in changes if c["what"] == "inbound publicRooms" and c["change"] == "gained"]
    expect(rc == 0 and gained and gained[0]["old_rule"] == "opendesk-no-directory"
           and gained[0]["new_action"] == "allow" and gained[0]["new_rule"] == "land-b-directory",
           "diff JSON shows the gained capability", out[:2000])
    expect({"change": "added", "rule": "land-b-directory"}.items()
           <= next((r for r in j["rules"] if r["rule"] == "land-b-directory"), {}).items(),
           "diff JSON lists added rules", json.dumps(j["rules"]))
    _, text, _ = run(["diff", POLICY, PROPOSED])
    m = re.search(r"^summary: (\d+) gained, (\d+) lost, (\d+) other changes$", text, re.M)
    expect(m and [int(x) for x in m.groups()] == [j["summary"]["gained"], j["summary"]["lost"],
                                                   j["summary"]["changed"]],
           "diff JSON and text agree on the summary", text[-300:])
    expect(sum(1 for c in changes if c["change"] == "gained") == j["summary"]["gained"],
           "every gained capability is one JSON change")
    rc, out, _ = run(["diff", "--exit-code", "--format", "json", POLICY, PROPOSED])
    expect(rc == 1 and json.loads(out)["identical"] is False, "diff --exit-code JSON exits 1")
    rc, out, _ = run(["diff", "--exit-code", "--format", "json", POLICY, POLICY])
    expect(rc == 0 and json.loads(out)["identical"] is True, "diff JSON of a file with itself")
    rc, _, err = run(["diff", POLICY, PROPOSED, "-o", "/nonexistent/dir/diff.json"])
    expect(rc == 2 and "cannot write" in err, "an unwritable -o exits 2", err)


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


for t in (test_policy_doc_examples, test_check, test_check_json, test_explain, test_test,
          test_coverage_text, test_test_json, test_test_junit, test_hostile_names, test_diff,
          test_diff_json, test_report, test_auditor_doc_commands):
    t()
for f in failures:
    print("FAIL:", f)
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
