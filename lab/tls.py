"""The lab's own certificate authority and a server certificate for 127.0.0.1, made with the
openssl command, for the TLS-only nodes (`lab up --engines tls`)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from clustertop.core.errors import EnvironmentProblem
from clustertop.lab.processes import run_checked


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate clients verify the servers against
    cert: Path  # the servers' certificate, for IP 127.0.0.1 and localhost
    key: Path


def lab_certificates(directory: Path) -> TlsFiles:
    """The lab's CA and server certificate, made once and reused."""
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    if all(p.is_file() for p in (files.ca, files.cert, files.key)):
        return files
    openssl = shutil.which("openssl")
    if openssl is None:
        raise EnvironmentProblem("the TLS lab nodes need the openssl command (apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    ca_key = directory / "ca.key"
    csr = directory / "server.csr"
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    steps = [
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
         "-out", str(files.ca), "-days", "3650", "-subj", "/CN=clustertop lab CA"],
        [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(files.key),
         "-out", str(csr), "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(files.ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(files.cert), "-days", "3650",
         "-extfile", str(extensions)],
    ]
    for argv in steps:
        run_checked(argv, "openssl: making the lab's certificates")
    for path in (ca_key, files.key):
        path.chmod(0o600)
    for path in (files.ca, files.cert):
        path.chmod(0o644)
    return files
