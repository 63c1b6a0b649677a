#!/usr/bin/python3
"""docs/discovery-and-keys.md stays true: its `$ bordergate discover` console examples (IP literals,
no network) print what the page shows, and every YAML block with `discovery:` or `keys:` in it
and in docs/configuration.md is accepted by `bordergate check-config` inside a full config."""
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml  # noqa: E402

from harness import GatewayTestCase, main  # noqa: E402
from harness.gateway import run_cli, sanitizer_reports  # noqa: E402

def docs_dir():
    return os.path.join(os.environ.get("BG_SOURCE_DIR",
                                       os.path.join(os.path.dirname(__file__), "..", "..")),
                        "docs")


def blocks(path, lang):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"```" + lang + r"\n(.*?)```", text, re.S)


class DiscoveryDocsTest(GatewayTestCase):
    def test_console_examples(self):
        examples = [b for b in blocks(os.path.join(docs_dir(), "discovery-and-keys.md"), "console")
                    if b.startswith("$ bordergate discover")]
        self.assertGreaterEqual(len(examples), 2)
        for block in examples:
            command, *expected = block.rstrip("\n").split("\n")
            args = shlex.split(command[2:])[1:]
            r = run_cli(*args)
            self.assertEqual(sanitizer_reports(r.stderr), [], r.stderr)
            got = [line for line in r.stdout.rstrip("\n").split("\n")
                   if not line.startswith("  elapsed:")]
            self.assertEqual(got, expected, r.stderr)
            self.assertEqual(r.returncode, 0 if "FAILED" not in block else 1)

    def test_yaml_examples_are_valid_configuration(self):
        checked = 0
        for doc in ("discovery-and-keys.md", "configuration.md"):
            for block in blocks(os.path.join(docs_dir(), doc), "yaml"):
                data = yaml.safe_load(block)
                if not isinstance(data, dict) or not ({"discovery", "keys"} & set(data)):
                    continue
                # `pinned` belongs to another loader; the example CA file does not exist here.
                (data.get("keys") or {}).pop("pinned", None)
                (data.get("discovery") or {}).pop("ca_file", None)
                config = self.make_config(1)
                config.update({k: v for k, v in data.items() if v})
                if "keys" in config and "cache_file" in config["keys"]:
                    config["keys"]["cache_file"] = str(self.tmp / "k.sqlite")
                path = self.tmp / f"doc{checked}.yaml"
                path.write_text(yaml.safe_dump(config))
                r = run_cli("check-config", str(path))
                self.assertEqual(r.returncode, 0, f"{doc}:\n{block}\n{r.stderr}")
                checked += 1
        self.assertGreaterEqual(checked, 5)

    def test_named_keys_exist(self):
        # Every `discovery.x` / `keys.x` the docs name is a key the loader knows (the docs once
        # named `discovery.overrides` for `static_routes`): check-config refuses unknown keys by
        # name, whatever their value, so a bad value may fail but must not fail as unknown.
        source = os.path.dirname(docs_dir())
        pages = [os.path.join(docs_dir(), f) for f in sorted(os.listdir(docs_dir()))
                 if f.endswith(".md")]
        pages += [os.path.join(source, "README.md"), os.path.join(source, "deploy", "README.md")]
        named = set()
        for page in pages:
            with open(page, encoding="utf-8") as f:
                named |= set(re.findall(r"`(discovery|keys)\.([a-z_]+)", f.read()))
        self.assertIn(("discovery", "static_routes"), named)
        for section, key in sorted(named):
            config = self.make_config(1)
            config.setdefault(section, {})[key] = "x"
            path = self.tmp / f"{section}-{key}.yaml"
            path.write_text(yaml.safe_dump(config))
            r = run_cli("check-config", str(path))
            self.assertNotIn(f"unknown key '{key}'", r.stderr, f"`{section}.{key}` in the docs")


if __name__ == "__main__":
    main()
