"""TLS for the local endpoint: a throwaway CA made at start, a server certificate for its loopback address,
and the trust that clients are pointed at through the standard variables, so no client needs to turn
verification off: certifi's roots plus that CA, twice.

- `REQUESTS_CA_BUNDLE`: one PEM file (requests reads no directory from its default).
- `SSL_CERT_FILE` + `SSL_CERT_DIR` (OpenSSL's defaults, what `ssl.create_default_context()` loads): the CA
  alone in the file, and every root in a hashed directory (`<subject hash>.<n>`, as `openssl rehash` names
  them), which OpenSSL reads only for the issuer it is looking for. The trust is the same; the cost is not:
  databricks-sql-connector makes two default contexts per session (dbt-databricks opens one per node), and
  parsing the whole bundle into each took ~25 ms of CPU with the GIL held, one session after another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path  # server certificate chain (leaf, then CA)
    private_key: Path
    ca_bundle: Path  # certifi's roots plus our CA: what clients trust (REQUESTS_CA_BUNDLE)
    ca_certificate: Path  # our CA alone (SSL_CERT_FILE)
    roots: Path  # certifi's roots and our CA, one file each named by subject hash (SSL_CERT_DIR)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.private_key)
        return context


def make_tls_files(directory: Path, address: str) -> TlsFiles:
    """A CA and a server certificate for `address` (an IP), written under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quality local Databricks endpoint CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(*_usage(cert_sign=True)), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    leaf_cert = (
        _builder(leaf_name, ca_name, leaf_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        .add_extension(x509.KeyUsage(*_usage(digital_signature=True)), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = TlsFiles(
        directory / "server.pem",
        directory / "server.key",
        directory / "ca-bundle.pem",
        directory / "ca.pem",
        directory / "roots",
    )
    files.certificate.write_bytes(leaf_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    files.private_key.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.private_key.chmod(0o600)
    files.ca_bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca_cert.public_bytes(pem))
    files.ca_certificate.write_bytes(ca_cert.public_bytes(pem))
    write_hashed_directory(files.roots, files.ca_bundle.read_text())
    return files


def write_hashed_directory(directory: Path, bundle: str) -> None:
    """Each certificate of a PEM bundle in its own file named `<subject hash>.<n>`: OpenSSL's hashed directory."""
    directory.mkdir(parents=True, exist_ok=True)
    taken: dict[str, int] = {}
    for pem in _PEM.findall(bundle):
        name_hash = subject_hash(ssl.PEM_cert_to_DER_cert(pem))
        number = taken[name_hash] = taken.get(name_hash, -1) + 1
        (directory / f"{name_hash}.{number}").write_text(pem + "\n")


# --- OpenSSL's X509_NAME_hash (the `openssl x509 -subject_hash` of OpenSSL >= 1.0) -----------------------
# SHA-1 of the subject's canonical encoding (x509_name_canon): every string value as a lowercased UTF8String
# with ASCII whitespace trimmed and collapsed, the RDN SETs concatenated without the outer SEQUENCE; the
# first four bytes of the digest, little-endian, in hex.
_UTF8, _SET, _SEQUENCE = 0x0C, 0x31, 0x30
_CODECS = {0x0C: "utf-8", 0x13: "latin-1", 0x14: "latin-1", 0x16: "latin-1", 0x1A: "latin-1"}
_CODECS |= {0x1C: "utf-32-be", 0x1E: "utf-16-be"}  # UniversalString, BMPString
_SPACE = b" \t\n\x0b\x0c\r"


_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def subject_hash(certificate: bytes) -> str:
    """The subject hash of a DER certificate (parsed here: cryptography warns on some of certifi's roots)."""
    tbs = _elements(_value(_elements(_value(certificate))[0]))
    fields = tbs[1:] if tbs[0][0] == 0xA0 else tbs  # [0] version, serial, signature, issuer, validity, subject
    canonical = b"".join(_canonical_rdn(rdn) for rdn in _elements(_value(fields[4])))
    return hashlib.sha1(canonical, usedforsecurity=False).digest()[3::-1].hex()


def _canonical_rdn(rdn: bytes) -> bytes:
    attributes = []
    for attribute in _elements(_value(rdn)):
        oid, value = _elements(_value(attribute))
        attributes.append(_tlv(_SEQUENCE, oid + _canonical_value(value)))
    return _tlv(_SET, b"".join(sorted(attributes)))  # DER sorts a SET OF by encoding


def _canonical_value(value: bytes) -> bytes:
    codec = _CODECS.get(value[0])
    if codec is None:
        return value  # not a string type: kept as encoded
    text = _value(value).decode(codec).encode("utf-8").strip(_SPACE)
    out, index = bytearray(), 0
    while index < len(text):
        byte = text[index]
        if byte in _SPACE:
            out.append(0x20)
            while index < len(text) and text[index] in _SPACE:
                index += 1
            continue
        out.append(byte + 32 if 0x41 <= byte <= 0x5A else byte)
        index += 1
    return _tlv(_UTF8, bytes(out))


def _header(der: bytes) -> tuple[int, int]:
    """(offset of the contents, their length) of the DER element at the start of `der`."""
    length = der[1]
    if length < 0x80:
        return 2, length
    size = length & 0x7F
    return 2 + size, int.from_bytes(der[2 : 2 + size], "big")


def _value(der: bytes) -> bytes:
    offset, length = _header(der)
    return der[offset : offset + length]


def _elements(contents: bytes) -> list[bytes]:
    elements, index = [], 0
    while index < len(contents):
        offset, length = _header(contents[index:])
        elements.append(contents[index : index + offset + length])
        index += offset + length
    return elements


def _tlv(tag: int, contents: bytes) -> bytes:
    length = len(contents)
    if length < 0x80:
        return bytes([tag, length]) + contents
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + contents


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _usage(*, cert_sign: bool = False, digital_signature: bool = False) -> tuple[bool, ...]:
    # KeyUsage's positional flags: digital_signature, content_commitment, key_encipherment, data_encipherment,
    # key_agreement, key_cert_sign, crl_sign, encipher_only, decipher_only.
    return (digital_signature, False, False, False, False, cert_sign, cert_sign, False, False)
