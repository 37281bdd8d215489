#!/usr/bin/env python3
"""Conformance check: drive the Stytch sandbox with Stytch's official Python SDK.

Usage: python_sdk.py BASE_URL PROJECT_ID SECRET ORGANIZATION_ID

Needs `pip install stytch==15.3.0` (its dependency `cryptography` is used here to make test
certificates and PKCS#1 keys). Calls all seven SAML/SSO endpoints plus error cases; the SDK's
strict pydantic response models must accept every response. Exits 0 on success, 1 on any
failure, 3 if the SDK is not installed.
"""

import asyncio
import datetime
import http.server
import sys
import threading
import traceback

try:
    import stytch
    from stytch import B2BClient
    from stytch.core.response_base import StytchError
except ImportError as exc:  # pragma: no cover - reported by the Rust test
    print(f"cannot import stytch ({exc}): run scripts/test.sh (it installs the Stytch Python SDK)")
    sys.exit(3)

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def rsa_pkcs1_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    check(pem.startswith("-----BEGIN RSA PRIVATE KEY-----"), "PKCS#1 key expected")
    return key, pem


def certificate(cn):
    key, _ = rsa_pkcs1_pem()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert


def metadata_xml(cert):
    der_b64 = "".join(
        cert.public_bytes(serialization.Encoding.PEM).decode().strip().splitlines()[1:-1]
    )
    return f"""<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/from-metadata">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>
      <X509Certificate>{der_b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
      Location="https://idp.example.com/from-metadata/sso"/>
  </IDPSSODescriptor>
</EntityDescriptor>"""


def serve_metadata(xml):
    body = xml.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/metadata"


def expect_error(fn, status, error_type):
    try:
        fn()
    except StytchError as err:
        check(err.details.status_code == status, f"status {err.details.status_code} != {status}")
        check(err.details.error_type == error_type, f"{err.details.error_type} != {error_type}")
        check(bool(err.details.error_message), "error_message missing")
        check(bool(err.details.request_id), "request_id missing")
        return
    raise AssertionError(f"expected {error_type}")


def run(base_url, project_id, secret, org_id):
    env = base_url.rstrip("/") + "/"
    client = B2BClient(project_id, secret, environment=env, suppress_warnings=True)
    print(f"stytch SDK {getattr(stytch, '__version__', '?')} against {env}")

    # 1. create
    created = client.sso.saml.create_connection(
        organization_id=org_id, display_name="Python SDK", identity_provider="okta"
    )
    check(created.status_code == 200, "create status_code")
    conn = created.connection
    check(conn is not None and conn.status == "pending", "new connection is pending")
    cid = conn.connection_id
    check(conn.acs_url.endswith(f"/v1/b2b/sso/callback/{cid}"), conn.acs_url)

    # 2. update (every field)
    idp_cert = certificate("Python IdP")
    _, signing_key = rsa_pkcs1_pem()
    _, encryption_key = rsa_pkcs1_pem()
    updated = client.sso.saml.update_connection(
        organization_id=org_id,
        connection_id=cid,
        idp_entity_id="https://idp.example.com/entity",
        display_name="Python SDK (updated)",
        attribute_mapping={"email": "email", "first_name": "given", "last_name": "family", "groups": "groups"},
        x509_certificate=idp_cert.public_bytes(serialization.Encoding.PEM).decode(),
        idp_sso_url="https://idp.example.com/sso",
        saml_connection_implicit_role_assignments=[{"role_id": "stytch_member"}],
        saml_group_implicit_role_assignments=[{"role_id": "stytch_admin", "group": "admins"}],
        alternative_audience_uri="https://legacy.example.com/audience",
        identity_provider="okta",
        signing_private_key=signing_key,
        nameid_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        alternative_acs_url="https://legacy.example.com/acs",
        idp_initiated_auth_disabled=False,
        saml_encryption_private_key=encryption_key,
        allow_gateway_callback=True,
    ).connection
    check(updated.status == "active", f"status {updated.status}")
    check(len(updated.verification_certificates) == 1, "one verification certificate")
    check(updated.verification_certificates[0].issuer == "Python IdP", "issuer from the certificate")
    check(updated.verification_certificates[0].expires_at is not None, "expires_at parsed")
    check(len(updated.signing_certificates) == 1 and updated.signing_certificates[0].issuer == "Stytch", "signing cert")
    check(len(updated.encryption_private_keys) == 1, "encryption key")
    check(updated.saml_group_implicit_role_assignments[0].group == "admins", "group roles")

    # 3. update by metadata URL (adds a second certificate)
    server, url = serve_metadata(metadata_xml(certificate("Metadata IdP")))
    try:
        by_url = client.sso.saml.update_by_url(organization_id=org_id, connection_id=cid, metadata_url=url).connection
    finally:
        server.shutdown()
    check(by_url.idp_entity_id == "https://idp.example.com/from-metadata", by_url.idp_entity_id)
    check(by_url.idp_sso_url == "https://idp.example.com/from-metadata/sso", by_url.idp_sso_url)
    check(len(by_url.verification_certificates) == 2, "metadata certificate added")

    # 4. list (sync and async clients)
    listed = client.sso.get_connections(organization_id=org_id)
    check([c.connection_id for c in listed.saml_connections] == [cid], "listed")
    check(listed.oidc_connections == [] and listed.external_connections == [], "other lists")
    listed_async = asyncio.run(client.sso.get_connections_async(organization_id=org_id))
    check(listed_async.saml_connections[0].connection_id == cid, "async list")

    # 5. delete a verification certificate
    old_cert = by_url.verification_certificates[0].certificate_id
    deleted = client.sso.saml.delete_verification_certificate(
        organization_id=org_id, connection_id=cid, certificate_id=old_cert
    )
    check(deleted.certificate_id == old_cert, "certificate_id echoed")

    # 6. delete the encryption key
    key_id = updated.encryption_private_keys[0].private_key_id
    deleted_key = client.sso.saml.delete_encryption_private_key(
        organization_id=org_id, connection_id=cid, private_key_id=key_id
    )
    check(deleted_key.private_key_id == key_id, "private_key_id echoed")

    # Errors come back as StytchError with the documented error types.
    expect_error(
        lambda: client.sso.saml.delete_verification_certificate(
            organization_id=org_id, connection_id=cid, certificate_id="saml-verification-key-test-nope"
        ),
        404,
        "sso_verification_key_not_found",
    )
    expect_error(
        lambda: client.sso.saml.update_connection(
            organization_id=org_id, connection_id=cid, attribute_mapping={"full_name": "name"}
        ),
        400,
        "saml_connection_email_mapping_required",
    )
    bad_client = B2BClient(project_id, secret + "-wrong", environment=env, suppress_warnings=True)
    expect_error(lambda: bad_client.sso.get_connections(organization_id=org_id), 401, "unauthorized_credentials")

    # 7. delete the connection
    gone = client.sso.delete_connection(organization_id=org_id, connection_id=cid)
    check(gone.connection_id == cid, "connection_id echoed")
    check(client.sso.get_connections(organization_id=org_id).saml_connections == [], "deleted")
    expect_error(
        lambda: client.sso.saml.update_connection(organization_id=org_id, connection_id=cid, display_name="x"),
        404,
        "saml_connection_not_found",
    )
    print("python SDK conformance: OK")


def main(argv):
    if len(argv) != 5:
        print(__doc__)
        return 2
    try:
        run(*argv[1:])
    except Exception:  # noqa: BLE001 - any failure fails the conformance run
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
