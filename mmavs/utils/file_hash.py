"""SHA-256 of a file's bytes (checkpoint hash suffixes, results manifests)."""
import hashlib


def file_sha256(path: str, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of the bytes of ``path``, read in chunks of ``chunk_bytes`` (large checkpoints)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_bytes), b''):
            digest.update(chunk)
    return digest.hexdigest()
