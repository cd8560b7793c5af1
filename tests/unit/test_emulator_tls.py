"""The endpoint's TLS files: a certificate for its loopback address, signed by a throwaway CA that the CA
bundle adds to the usual roots, so a client that verifies (as the connector and requests do) trusts it."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from quality.emulator.tls import TlsFiles, make_tls_files, subject_hash

ADDRESS = "127.31.7.9"


def handshake(files: TlsFiles, server_hostname: str) -> str:
    """A TLS handshake in memory between the endpoint's server context and a verifying client; the peer's CN."""
    return _handshake_in_memory(files, ssl.create_default_context(cafile=str(files.ca_bundle)), server_hostname)


def _handshake_in_memory(files: TlsFiles, client_context: ssl.SSLContext, server_hostname: str) -> str:
    """A TLS handshake in memory between the endpoint's server context and `client_context`; the peer's CN."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    from_server, from_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(to_client, from_client, server_hostname=server_hostname)
    server = files.server_context().wrap_bio(to_server, from_server, server_side=True)
    for _ in range(10):
        done = 0
        for side in (client, server):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        to_server.write(from_client.read())
        to_client.write(from_server.read())
        if done == 2:
            break
    der = client.getpeercert(binary_form=True)
    assert der is not None
    subject = x509.load_der_x509_certificate(der).subject
    return str(subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_a_verifying_client_trusts_the_certificate_for_the_endpoint_address(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "tls", ADDRESS)

    assert handshake(files, ADDRESS) == ADDRESS


def test_the_certificate_is_refused_for_another_address(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "tls", ADDRESS)

    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        handshake(files, "127.31.7.10")


def test_the_bundle_keeps_the_usual_roots_and_the_key_is_private(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "tls", ADDRESS)

    assert files.ca_bundle.read_text().startswith(Path(certifi.where()).read_text())
    assert (
        files.ca_bundle.read_text().count("BEGIN CERTIFICATE")
        == Path(certifi.where()).read_text().count("BEGIN CERTIFICATE") + 1
    )
    assert files.private_key.stat().st_mode & 0o777 == 0o600
    assert files.certificate.read_text().count("BEGIN CERTIFICATE") == 2  # leaf, then its CA


def handshake_through_directory(files: TlsFiles, directory: Path) -> str:
    """As `handshake`, with the client trusting only what OpenSSL finds in a hashed directory."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(capath=str(directory))
    return _handshake_in_memory(files, context, ADDRESS)


def test_the_ca_file_holds_the_ca_alone_and_the_directory_every_root_by_subject_hash(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "tls", ADDRESS)

    assert files.ca_certificate.read_text().count("BEGIN CERTIFICATE") == 1
    assert files.ca_certificate.read_text() in files.ca_bundle.read_text()
    names = sorted(path.name for path in files.roots.iterdir())
    assert len(names) == files.ca_bundle.read_text().count("BEGIN CERTIFICATE")
    assert all(re.fullmatch(r"[0-9a-f]{8}\.\d+", name) for name in names)


def test_openssl_finds_the_ca_in_the_hashed_directory(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path / "tls", ADDRESS)

    assert handshake_through_directory(files, files.roots) == ADDRESS
    files.roots.joinpath(f"{subject_hash(ssl.PEM_cert_to_DER_cert(files.ca_certificate.read_text()))}.0").unlink()
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate in certificate chain"):
        handshake_through_directory(files, files.roots)


def test_a_subject_is_hashed_as_openssl_canonicalises_it(tmp_path: Path) -> None:
    """Case, surrounding and repeated whitespace and the string type do not change the hash (x509_name_canon)."""
    files = make_tls_files(tmp_path / "tls", ADDRESS)
    ca = ssl.PEM_cert_to_DER_cert(files.ca_certificate.read_text())
    awkward = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "  Quality\t LOCAL   Endpoint "),
            x509.NameAttribute(NameOID.COMMON_NAME, "Ünïcode CA"),
        ]
    )
    plain = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "nl"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "quality local endpoint"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Ünïcode ca"),
        ]
    )

    assert subject_hash(_with_subject(awkward)) == subject_hash(_with_subject(plain))
    assert subject_hash(_with_subject(awkward)) != subject_hash(ca)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command to compare with")
def test_every_root_hash_equals_the_openssl_commands() -> None:
    bundle = Path(certifi.where()).read_text()
    pems = re.findall(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", bundle, re.DOTALL)

    for pem in pems:
        expected = subprocess.run(
            ["openssl", "x509", "-noout", "-subject_hash"], input=pem, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert subject_hash(ssl.PEM_cert_to_DER_cert(pem)) == expected, pem


def _with_subject(subject: x509.Name) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)
