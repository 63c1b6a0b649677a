"""A throw-away PKI made with the `openssl` CLI: one CA, and leaf certificates
for servers (with SAN), upstreams and clients. EC P-256 keys keep generation
fast; `key="rsa"` gives RSA-2048 where a test needs it."""
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.env import require_tool


@dataclass(frozen=True)
class Certificate:
    name: str
    cert: Path
    key: Path

    def subject(self) -> str:
        return _openssl("x509", "-in", str(self.cert), "-noout", "-subject", "-nameopt", "RFC2253").strip()

    def fingerprint(self) -> str:
        out = _openssl("x509", "-in", str(self.cert), "-noout", "-fingerprint", "-sha256")
        return out.strip().split("=", 1)[1]


def _openssl(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [require_tool("openssl"), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _key_args(key: str) -> list[str]:
    if key == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    if key == "rsa":
        return ["-newkey", "rsa:2048"]
    raise ValueError(f"unknown key type {key!r}")


class TestPKI:
    """All files live under `directory`; names are file-system safe stems."""

    __test__ = False  # not a unittest class despite the name

    def __init__(self, directory: Path, ca_name: str = "bordergate test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = Certificate("ca", self.dir / "ca.crt", self.dir / "ca.key")
        _openssl(
            "req", "-x509", *_key_args("ec"), "-nodes", "-days", "30",
            "-keyout", str(self.ca.key), "-out", str(self.ca.cert),
            "-subj", f"/CN={ca_name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )
        self._serial = 1000

    def issue(
        self,
        stem: str,
        common_name: str,
        dns_names: list[str] | None = None,
        ip_addresses: list[str] | None = None,
        usage: str = "server",
        key: str = "ec",
    ) -> Certificate:
        """Issues a leaf for `common_name`; SAN = dns_names (default [common_name]) + IPs.
        usage is "server", "client" or "both" (extendedKeyUsage)."""
        dns = [common_name] if dns_names is None else dns_names
        san = [f"DNS:{d}" for d in dns] + [f"IP:{ip}" for ip in (ip_addresses or [])]
        eku = {"server": "serverAuth", "client": "clientAuth", "both": "serverAuth,clientAuth"}[usage]
        cert = Certificate(stem, self.dir / f"{stem}.crt", self.dir / f"{stem}.key")
        csr = self.dir / f"{stem}.csr"
        ext = self.dir / f"{stem}.ext"
        lines = ["basicConstraints=critical,CA:FALSE",
                 "keyUsage=critical,digitalSignature,keyEncipherment",
                 f"extendedKeyUsage={eku}"]
        if san:
            lines.append("subjectAltName=" + ",".join(san))
        ext.write_text("\n".join(lines) + "\n")
        _openssl("req", "-new", *_key_args(key), "-nodes", "-keyout", str(cert.key),
                 "-out", str(csr), "-subj", f"/CN={common_name}")
        self._serial += 1
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca.cert), "-CAkey", str(self.ca.key),
                 "-set_serial", str(self._serial), "-days", "30", "-sha256",
                 "-extfile", str(ext), "-out", str(cert.cert))
        csr.unlink()
        ext.unlink()
        cert.key.chmod(0o600)
        return cert

    def server(self, *names: str, key: str = "ec", stem: str | None = None) -> Certificate:
        """A server certificate whose CN is the first name and whose SAN holds all of them."""
        return self.issue(stem or names[0].replace("*", "wildcard"), names[0], list(names), key=key)

    def upstream(self, name: str = "core.internal") -> Certificate:
        return self.issue(f"upstream-{name}", name, [name], ip_addresses=["127.0.0.1"])

    def client(self, name: str = "bordergate-gateway") -> Certificate:
        return self.issue(f"client-{name}", name, [], usage="client")
