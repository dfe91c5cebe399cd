"""Certificates for the TLS tests and benchmark, made at run time: a private CA and a server
certificate it signs, valid for 127.0.0.1, ::1 and localhost. With the `cryptography` package
(requirements-dev.txt), else with the `openssl` command."""
import datetime
import ipaddress
import os
import subprocess
from dataclasses import dataclass
from typing import List, Optional

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - the openssl command instead
    x509 = None  # type: ignore[assignment]


@dataclass
class Certs:
    ca: str      # the CA's certificate (what a client trusts: TALLY_CA)
    cert: str    # the server's certificate (tally serve --tls-cert)
    key: str     # its private key (tally serve --tls-key)
    subject: str  # the server certificate's subject, as the clients write it (RFC 4514: last RDN first)


def _name(common_name: str, organization: str) -> "x509.Name":
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])


def _write(path: str, data: bytes, mode: int = 0o644) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def make_certs(folder: str, *, ca_name: str = "Tally Test CA", common_name: str = "localhost",
               hosts: Optional[List[str]] = None, prefix: str = "") -> Certs:
    """A CA and a server certificate signed by it, as PEM files in `folder`."""
    hosts = hosts if hosts is not None else ["127.0.0.1", "::1", "localhost"]
    if x509 is None:
        return _make_with_openssl(folder, ca_name, common_name, hosts, prefix)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = _name(ca_name, "Tally tests")
    ca_cert = (x509.CertificateBuilder()
               .subject_name(ca_subject).issuer_name(ca_subject)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: List[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name, "Tally tests")).issuer_name(ca_subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return Certs(
        ca=_write(os.path.join(folder, f"{prefix}ca.pem"), ca_cert.public_bytes(pem)),
        cert=_write(os.path.join(folder, f"{prefix}server.pem"), cert.public_bytes(pem)),
        key=_write(os.path.join(folder, f"{prefix}server.key"),
                   key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600),
        subject=f"O=Tally tests,CN={common_name}",
    )


def _make_with_openssl(folder: str, ca_name: str, common_name: str, hosts: List[str], prefix: str) -> Certs:
    def path(name: str) -> str:
        return os.path.join(folder, prefix + name)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *curve, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2",
        "-subj", f"/CN={ca_name}/O=Tally tests",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *curve, "-keyout", path("server.key"), "-out", path("server.csr"),
        "-subj", f"/CN={common_name}/O=Tally tests")
    names = []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
            names.append(f"IP:{host}")
        except ValueError:
            names.append(f"DNS:{host}")
    with open(path("server.ext"), "w") as ext:
        ext.write(f"subjectAltName={','.join(names)}\nbasicConstraints=critical,CA:FALSE\n"
                  "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
        "-CAcreateserial", "-out", path("server.pem"), "-days", "1", "-extfile", path("server.ext"))
    os.chmod(path("server.key"), 0o600)
    return Certs(ca=path("ca.pem"), cert=path("server.pem"), key=path("server.key"),
                 subject=f"O=Tally tests,CN={common_name}")
