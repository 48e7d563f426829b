"""The control plane's PKI: a CA, the API server's serving cert, client certs, SA keys.

Made fresh for every cluster so nothing secret is ever committed or reused.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

KUBERNETES_SERVICE_IP = "10.96.0.1"  # first address of the service range the API server is given


@dataclass(frozen=True)
class ClientCert:
    cert: Path
    key: Path


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _write_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


class Pki:
    """Writes the certificates into one folder and hands out their paths."""

    def __init__(self, folder: Path, extra_ips: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self._ips = tuple(dict.fromkeys(("127.0.0.1", KUBERNETES_SERVICE_IP, *extra_ips)))
        folder.mkdir(parents=True, exist_ok=True)
        self._now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_cert = (
            self._builder(_name("codemode-devcluster-ca"), self._ca_key.public_key())
            .issuer_name(_name("codemode-devcluster-ca"))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        self.ca = folder / "ca.crt"
        self.ca.write_bytes(self._ca_cert.public_bytes(serialization.Encoding.PEM))
        _write_key(self._ca_key, folder / "ca.key")
        self.ca_key = folder / "ca.key"

    def _builder(
        self, subject: x509.Name, public_key: CertificatePublicKeyTypes
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._now)
            .not_valid_after(self._now + dt.timedelta(days=30))
        )

    def _issue(
        self,
        name: str,
        subject: x509.Name,
        usage: ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
    ) -> ClientCert:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(subject, key.public_key())
            .issuer_name(self._ca_cert.subject)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        paths = ClientCert(self.folder / f"{name}.crt", self.folder / f"{name}.key")
        paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, paths.key)
        return paths

    def serving(self, name: str) -> ClientCert:
        sans: list[x509.GeneralName] = [
            *(x509.IPAddress(ipaddress.ip_address(address)) for address in self._ips),
            *(
                x509.DNSName(d)
                for d in (
                    "localhost",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                )
            ),
        ]
        return self._issue(name, _name(name), ExtendedKeyUsageOID.SERVER_AUTH, sans)

    def client(self, name: str, user: str, group: str | None = None) -> ClientCert:
        return self._issue(name, _name(user, group), ExtendedKeyUsageOID.CLIENT_AUTH)

    def service_account_keys(self) -> tuple[Path, Path]:
        """The key pair the API server signs (private) and checks (public) SA tokens with."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private, public = self.folder / "sa.key", self.folder / "sa.pub"
        _write_key(key, private)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return private, public
