"""The endpoint's TLS files: a certificate for its loopback address, signed by a throwaway CA that the CA
bundle adds to the usual roots, so a client that verifies (as the connector and requests do) trusts it."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from quality.emulator.tls import TlsFiles, make_tls_files

ADDRESS = "127.31.7.9"


def handshake(files: TlsFiles, server_hostname: str) -> str:
    """A TLS handshake in memory between the endpoint's server context and a verifying client; the peer's CN."""
    client_context = ssl.create_default_context(cafile=str(files.ca_bundle))
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
