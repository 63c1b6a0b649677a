"""Runs every example of docs/matrix-toolbox.md outside the `## event check` section (that one
is test_matrix_events_doc.py's) and compares the output byte for byte, so the operator
documentation cannot drift from the binary. Same conventions as test_matrix_events_doc.py:
`<!-- bg-example: file NAME -->` writes the following fenced block to NAME;
`<!-- bg-example: run -->` runs each `$ ` line of the following block with /bin/sh in the
example directory (stderr merged, `bordergate` on PATH) and expects the lines up to the next
`$ `; `$ echo $?` expects the previous command's exit status.
"""

import os
import re
import subprocess
import sys
import tempfile

BORDERGATE = os.environ["BORDERGATE"]
DOC = os.path.join(os.environ["BG_SOURCE_DIR"], "docs", "matrix-toolbox.md")
OTHERS = ("## event check",)


def own_text():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    parts = re.split(r"(?m)^(?=## )", text)
    return "".join(p for p in parts if not p.startswith(OTHERS))


def main():
    examples = re.findall(r"<!-- bg-example: (.+?) -->\n```[a-z]*\n(.*?)```", own_text(), re.S)
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(BORDERGATE)) + os.pathsep + env["PATH"]
    env["LC_ALL"] = "C.UTF-8"
    failures, commands, status = [], 0, None
    with tempfile.TemporaryDirectory() as workdir:
        for marker, body in examples:
            if marker.startswith("file "):
                with open(os.path.join(workdir, marker[5:]), "w", encoding="utf-8") as f:
                    f.write(body)
                continue
            assert marker == "run", marker
            lines = body.splitlines()
            i = 0
            while i < len(lines):
                assert lines[i].startswith("$ "), lines[i]
                command = lines[i][2:]
                i += 1
                expected = []
                while i < len(lines) and not lines[i].startswith("$ "):
                    expected.append(lines[i])
                    i += 1
                commands += 1
                if command == "echo $?":
                    got = [str(status)]
                else:
                    proc = subprocess.run(["/bin/sh", "-c", command], cwd=workdir, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
                    status = proc.returncode
                    got = proc.stdout.decode("utf-8").split("\n")
                    if got and got[-1] == "":
                        got.pop()
                if got != expected:
                    failures.append("$ %s\n--- expected\n%s\n--- got\n%s" % (
                        command, "\n".join(expected), "\n".join(got)))
    for f in failures:
        print(f)
    print("%d documented commands checked, %d failed" % (commands, len(failures)))
    if commands < 15:
        print("the toolbox documentation lost its examples")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
