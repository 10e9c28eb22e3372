"""Images from the party: photos lose their location data; a drawn signature must be a real PNG.

Photos are cleaned without re-encoding (no loss of quality): the metadata segments of a JPEG (APP1
Exif/XMP, APP13 IPTC, comments) and the metadata chunks of a PNG (eXIf, tEXt, zTXt, iTXt, tIME) are
dropped; a JPEG keeps only its orientation, written back as a minimal Exif block, so it still shows
upright. The result is opened with Pillow to prove it is a picture that decodes.
"""
from __future__ import annotations

import base64
import binascii
import io
import struct

from PIL import Image, UnidentifiedImageError

from coord.errors import DomainError
from coord.lang import _

ORIENTATION = 0x0112
GPS_IFD = 0x8825
MAX_PIXELS = 80_000_000  # refuse decompression bombs outright
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_METADATA_CHUNKS = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
# JPEG markers dropped: APP1 (Exif, XMP), APP12 (Ducky/Picture Info), APP13 (Photoshop/IPTC), COM.
JPEG_DROP = {0xE1, 0xEC, 0xED, 0xFE}

SIGNATURE_MAX_BYTES = 300 * 1024
SIGNATURE_MAX_SIDE = 3000


def _open(data: bytes, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise DomainError(_("图片“%(name)s”的像素过多，请压缩后再上传。", name=name), field="files")
        image.verify()
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError):
        raise DomainError(_("图片“%(name)s”已损坏或不是有效的图片。", name=name), field="files") from None
    return Image.open(io.BytesIO(data))


def strip_location(data: bytes, kind: str, name: str) -> tuple[bytes, str]:
    """(cleaned bytes, what was removed) for a photo of `kind` jpg/png; other kinds unchanged."""
    if kind == "jpg":
        orientation = _open(data, name).getexif().get(ORIENTATION)
        cleaned, removed = _strip_jpeg(data, orientation, name)
    elif kind == "png":
        _open(data, name)
        cleaned, removed = _strip_png(data, name)
    else:
        return data, ""
    check = _open(cleaned, name)
    if check.getexif().get_ifd(GPS_IFD):  # never reached: the Exif block was rebuilt without it
        raise DomainError(_("图片“%(name)s”的位置信息无法去除，未保存。", name=name), field="files")
    return cleaned, "、".join(dict.fromkeys(removed))


def _strip_jpeg(data: bytes, orientation: int | None, name: str) -> tuple[bytes, list[str]]:
    out, removed, pos = bytearray(b"\xff\xd8"), [], 2
    if not data.startswith(b"\xff\xd8"):
        raise DomainError(_("图片“%(name)s”不是有效的 JPEG 文件。", name=name), field="files")
    inserted = data[2:4] != b"\xff\xe0"
    if inserted:  # no JFIF APP0: the Exif block comes first, right after SOI
        out += _orientation_segment(orientation)
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise DomainError(_("图片“%(name)s”的 JPEG 结构无效。", name=name), field="files")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the image data follows unchanged
            if not inserted:
                out += _orientation_segment(orientation)
            out += data[pos:]
            return bytes(out), removed
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[pos:pos + 2]
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segment = data[pos:pos + 2 + length]
        if len(segment) < 2 + length or length < 2:
            raise DomainError(_("图片“%(name)s”的 JPEG 结构无效。", name=name), field="files")
        if marker in JPEG_DROP:
            removed.append({0xE1: "Exif/XMP（含 GPS 位置）", 0xED: "IPTC", 0xFE: "注释"}.get(marker, "元数据"))
        else:
            out += segment
            if marker == 0xE0 and not inserted:  # after JFIF's APP0, as the standard orders them
                out += _orientation_segment(orientation)
                inserted = True
        pos += 2 + length
    raise DomainError(_("图片“%(name)s”的 JPEG 数据不完整。", name=name), field="files")


def _orientation_segment(orientation: int | None) -> bytes:
    if not orientation or orientation == 1:
        return b""
    exif = Image.Exif()
    exif[ORIENTATION] = int(orientation)
    payload = b"Exif\x00\x00" + exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _strip_png(data: bytes, name: str) -> tuple[bytes, list[str]]:
    if not data.startswith(PNG_SIGNATURE):
        raise DomainError(_("图片“%(name)s”不是有效的 PNG 文件。", name=name), field="files")
    out, removed, pos = bytearray(PNG_SIGNATURE), [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunk_type = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        if chunk_type in PNG_METADATA_CHUNKS:
            removed.append("Exif（含 GPS 位置）" if chunk_type == b"eXIf" else "文本元数据")
        else:
            out += data[pos:end]
        pos = end
        if chunk_type == b"IEND":
            return bytes(out), removed
    raise DomainError(_("图片“%(name)s”的 PNG 数据不完整。", name=name), field="files")


# --- the drawn signature ----------------------------------------------------------------------

def signature_png(data_url: str | None) -> bytes:
    """The PNG bytes of a `data:image/png;base64,...` URL of a non-empty drawing, else DomainError."""
    text = (data_url or "").strip()
    if not text:
        raise DomainError(_("请在签名框内手写签名。手写签名需要浏览器启用 JavaScript；"
                            "无法签名时请联系约谈单位现场签署。"), field="signature")
    prefix = "data:image/png;base64,"
    if not text.startswith(prefix):
        raise DomainError(_("签名须为 PNG 图片。"), field="signature")
    try:
        data = base64.b64decode(text[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(_("签名图片数据无效。"), field="signature") from None
    if len(data) > SIGNATURE_MAX_BYTES:
        raise DomainError(_("签名图片过大。"), field="signature")
    if not data.startswith(PNG_SIGNATURE):
        raise DomainError(_("签名须为 PNG 图片。"), field="signature")
    try:
        image = Image.open(io.BytesIO(data))
        if image.format != "PNG" or max(image.size) > SIGNATURE_MAX_SIDE:
            raise DomainError(_("签名图片尺寸无效。"), field="signature")
        image.load()
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error):
        raise DomainError(_("签名须为有效的 PNG 图片。"), field="signature") from None
    if _blank(image):
        raise DomainError(_("签名框是空白的，请手写签名。"), field="signature")
    return data


def _blank(image: Image.Image) -> bool:
    """True when nothing was drawn: fully transparent, or one flat colour."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        alpha = image.convert("RGBA").getchannel("A")
        return alpha.getbbox() is None
    grey = image.convert("L")
    low, high = grey.getextrema()
    return high - low < 16
