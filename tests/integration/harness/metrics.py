"""A small reader for the Prometheus text exposition format, enough to check
metric names and sum samples by label."""
import re

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[str, list[tuple[dict, float]]]:
    """name -> [(labels, value)], plus '#TYPE' entries under '#types'."""
    out: dict = {"#types": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            out["#types"][name] = kind
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        labels = {k: v for k, v in _LABEL.findall(m.group(3) or "")}
        out.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return out


def metric_sum(metrics: dict, name: str, **labels) -> float:
    """Sum of every sample of `name` whose labels include `labels` (0 if absent)."""
    total = 0.0
    for got, value in metrics.get(name, []):
        if all(got.get(k) == v for k, v in labels.items()):
            total += value
    return total
