"""Hand-made PDFs for refusal tests: a password-protected one (standard security handler, RC4 40-bit)."""

from __future__ import annotations

import hashlib

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _pdf(objects: list[bytes], trailer: bytes) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def encrypted_pdf(user_password: bytes = b"secret") -> bytes:
    """Return a one-page PDF that opens only with a password (PDF 1.4, algorithm 3.2-3.4, revision 2)."""
    file_id = hashlib.md5(b"ofsted-qa").digest()
    owner_key = hashlib.md5((b"owner" + _PAD)[:32]).digest()[:5]
    user = (user_password + _PAD)[:32]
    o_value = _rc4(owner_key, user)
    permissions = (-4).to_bytes(4, "little", signed=True)
    key = hashlib.md5(user + o_value + permissions + file_id).digest()[:5]
    u_value = _rc4(key, _PAD)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + o_value.hex().encode()
        + b"> /U <"
        + u_value.hex().encode()
        + b"> /P -4 >>",
    ]
    fid = file_id.hex().encode()
    return _pdf(objects, b"<< /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID [<" + fid + b"> <" + fid + b">] >>")


def blank_pdf() -> bytes:
    """Return a valid one-page PDF with no text (a scan without OCR reads like this)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    return _pdf(objects, b"<< /Size 4 /Root 1 0 R >>")
