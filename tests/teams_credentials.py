"""The app's credentials as the Teams stand-in's token endpoint knows them: the client
secret, or certificates registered for the app (as uploaded to an Entra app registration),
whose signed assertions it checks as Entra does. Mixed into `TeamsStandIn`."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.teams_people import APP_SECRET


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Credentials:
    tmp: Path
    app_id: str
    _lock: threading.Lock
    _app_certificates: dict[str, Any]
    """SHA-256 thumbprint → the registered certificate's public key."""

    @property
    def token_url(self) -> str:
        raise NotImplementedError

    def app_certificate(self, name: str = "helpdesk-bot", registered: bool = True) -> Path:
        """A certificate credential for the app (a PEM with the certificate and its key),
        registered with the token endpoint as Entra holds one uploaded to the app
        registration (`registered=False`: one it does not know)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        thumbprint = _b64(cert.fingerprint(hashes.SHA256()))
        if registered:
            with self._lock:
                self._app_certificates[thumbprint] = cert.public_key()
        path = self.tmp / f"{name}-{thumbprint[:8]}.pem"
        path.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        return path

    def _client_proven(self, form: Any) -> bool:
        """The client secret, or an assertion as Entra checks it: signed (PS256 or RS256)
        by a registered certificate named by `x5t#S256`, for this token URL, from and about
        the app, not expired, with a `jti`."""
        if "client_assertion" not in form:
            return form.get("client_secret") == APP_SECRET
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return False
        assertion = str(form["client_assertion"])
        try:
            header = jwt.get_unverified_header(assertion)
            key = self._app_certificates.get(str(header.get("x5t#S256")))
            if key is None:
                return False
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["PS256", "RS256"],
                audience=self.token_url,
                issuer=self.app_id,
                options={"require": ["exp", "nbf", "jti", "sub"]},
            )
        except jwt.InvalidTokenError:
            return False
        return bool(claims["sub"] == self.app_id)
