#!/usr/bin/python3
"""The manual pages and the bash completion come from the command tree --help prints
(issue 17, item 5): every command group gets a page that groff renders without a warning and
that names every subcommand and long option the binary's --help shows; the completion script
is valid bash and completes commands, options (a group's options after its subcommand too) and
the fixed values of options such as --format."""
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ENV  # noqa: E402


def run(*args, expect=0):
    p = subprocess.run([str(ENV.bordergate), *args], capture_output=True, text=True, timeout=60)
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"{args}: exit {p.returncode}, expected {expect}\n{p.stdout}{p.stderr}")
    return p


def help_tree(path=()):
    """{command path: (subcommands, long options)} as --help prints them."""
    text = run(*path, "--help").stdout
    subs = []
    if "Subcommands:" in text:
        for line in text.split("Subcommands:", 1)[1].splitlines():
            m = re.match(r"^  (\S+)\s", line)
            if m:
                subs.append(m.group(1))
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text.split("Subcommands:", 1)[0]))
    options.discard("--help")
    tree = {path: (subs, options)}
    for sub in subs:
        tree.update(help_tree(path + (sub,)))
    return tree


class CliDocsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tree = help_tree()
        cls.groups = cls.tree[()][0]

    def test_a_manual_page_per_group_names_everything_help_shows(self):
        self.assertIn("policy", self.groups)
        with tempfile.TemporaryDirectory() as d:
            run("man", "-o", d)
            pages = sorted(p.name for p in Path(d).iterdir())
            self.assertEqual(pages, sorted(["bordergate.1"] + [f"bordergate-{g}.1" for g in self.groups]))
            for page in pages:
                r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(Path(d) / page)],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual((r.returncode, r.stderr), (0, ""), page)
            for path, (subs, options) in self.tree.items():
                if not path:
                    continue
                text = (Path(d) / f"bordergate-{path[0]}.1").read_text().replace("\\-", "-")
                self.assertIn(" ".join(("bordergate",) + path), text, path)
                for option in options:
                    self.assertIn(option, text, f"{path}: {option}")
            top = (Path(d) / "bordergate.1").read_text()
            for g in self.groups:
                self.assertIn(g.replace("-", "\\-"), top)
            self.assertIn("EXIT STATUS", top)
            rendered = subprocess.run(["groff", "-man", "-Tutf8", str(Path(d) / "bordergate-policy.1")],
                                      capture_output=True, text=True, timeout=60).stdout
            self.assertIn("bordergate policy replay", re.sub(r".\x08", "", rendered))

    def test_bash_completion(self):
        script = run("completion", "bash").stdout
        with tempfile.NamedTemporaryFile("w", suffix=".bash", delete=False) as f:
            f.write(script)
            path = f.name
        self.addCleanup(os.unlink, path)
        self.assertEqual(subprocess.run(["bash", "-n", path]).returncode, 0)
        cases = [
            (["pol"], ["policy"]),
            (["policy", "re"], ["replay", "report"]),
            (["policy", "replay", "--f"], ["--format", "--from-seq"]),
            (["policy", "report", "--format", ""], ["html", "md"]),
            (["quarantine", "list", "--con"], ["--config"]),  # the group's option, after
            (["audit", "verify", "--pol"], ["--policies"]),
            (["policy", "check", "--nonsense"], []),
        ]
        driver = "source " + path + "\n"
        for words, _ in cases:
            quoted = " ".join(["bordergate"] + [f"'{w}'" for w in words])
            driver += (f"COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; COMPREPLY=(); _bordergate; "
                       "echo \"${COMPREPLY[*]}\"\n")
        out = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.stderr, "")
        got = out.stdout.splitlines()
        for (words, want), line in zip(cases, got):
            self.assertEqual(sorted(line.split()), sorted(want), words)
        # Every command of --help can be completed from its parent.
        names = [(p, s) for p, (subs, _) in self.tree.items() for s in subs]
        driver = "source " + path + "\n"
        for parent, sub in names:
            quoted = " ".join(["bordergate"] + list(parent) + [sub])
            driver += (f"COMP_WORDS=({quoted}); COMP_CWORD={len(parent) + 1}; COMPREPLY=(); "
                       "_bordergate; echo \"${COMPREPLY[*]}\"\n")
        got = subprocess.run(["bash", "-c", driver], capture_output=True, text=True,
                             timeout=60).stdout.splitlines()
        for (parent, sub), line in zip(names, got):
            self.assertIn(sub, line.split(), (parent, sub))

    def test_usage_errors_exit_2(self):
        run("completion", "zsh", expect=2)
        run("completion", expect=2)
        run("man", "--bogus", expect=2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
