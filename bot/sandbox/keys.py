"""RSA key pairs for sandbox GitHub Apps (GitHub signs nothing; Apps sign JWTs with these)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.errors import SandboxError


def generate_key_pair(bits: int = 2048) -> tuple[str, str]:
    """(private key PEM, public key PEM), as GitHub's "Generate a private key" gives."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return private, public_pem_of(key.public_key())


def public_pem_of(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def normalize_public_key(pem: str) -> str:
    """A public key PEM from either a public or a private key PEM; SandboxError otherwise."""
    data = pem.strip().encode()
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise SandboxError("GitHub Apps use RSA keys")
            return public_pem_of(private.public_key())
        public = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SandboxError("not a PEM key") from exc
    if not isinstance(public, rsa.RSAPublicKey):
        raise SandboxError("GitHub Apps use RSA keys")
    return public_pem_of(public)
