"""Runs the examples of the `event check` section of docs/matrix-toolbox.md and compares their
output, so the documentation cannot drift from the binary. Conventions inside that section:
`<!-- bg-example: file NAME -->` before a fenced block writes the block to NAME;
`<!-- bg-example: run -->` before a console block runs each `$ ` line with /bin/sh in the
example directory (stderr merged into stdout, `bordergate` on PATH) and expects the lines that
follow; `$ echo $?` expects the previous command's exit status.
"""

import os
import re
import subprocess
import sys
import tempfile

BORDERGATE = os.environ["BORDERGATE"]
DOC = os.path.join(os.environ["BG_SOURCE_DIR"], "docs", "matrix-toolbox.md")
SECTION = "## event check"


def section_text():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    return text[start:] if end < 0 else text[start:end]


def blocks(text):
    """(marker, body) for every fenced block preceded by a bg-example marker."""
    pattern = re.compile(r"<!-- bg-example: (.+?) -->\n```[a-z]*\n(.*?)```", re.S)
    return [(m.group(1).strip(), m.group(2)) for m in pattern.finditer(text)]


def run_block(body, workdir, env):
    failures = []
    lines = body.splitlines()
    i = 0
    status = None
    while i < len(lines):
        command = lines[i][2:]
        assert lines[i].startswith("$ "), lines[i]
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        if command == "echo $?":
            got = [str(status)]
        else:
            proc = subprocess.run(["/bin/sh", "-c", command], cwd=workdir, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            status = proc.returncode
            got = proc.stdout.decode("utf-8").splitlines()
        if got != expected:
            failures.append("$ %s\n--- expected\n%s\n--- got\n%s" % (
                command, "\n".join(expected), "\n".join(got)))
    return failures


def main():
    examples = blocks(section_text())
    runs = [b for b in examples if b[0] == "run"]
    files = [b for b in examples if b[0].startswith("file ")]
    if len(runs) < 3 or len(files) < 3:
        print("the event check section lost its examples: %d runs, %d files" % (len(runs),
                                                                                len(files)))
        return 1
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(BORDERGATE)) + os.pathsep + env["PATH"]
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for marker, body in examples:
            if marker.startswith("file "):
                with open(os.path.join(workdir, marker[5:]), "w", encoding="utf-8") as f:
                    f.write(body)
            elif marker == "run":
                failures += run_block(body, workdir, env)
    for failure in failures:
        print(failure)
    print("%d example commands checked, %d failed" % (
        sum(b[1].count("\n$ ") + 1 for b in runs), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
