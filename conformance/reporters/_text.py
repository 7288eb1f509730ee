"""Text helpers shared by the reporters: making hostile strings and bytes visible and safe.

Everything a target sends reaches the reports, so every string a reporter writes goes through
:func:`visible` first: control characters, noncharacters, lone surrogates and bidirectional
overrides become visible escapes (``\\x00``, ``\\ufffe``, ``\\udc80``, ``\\u202e``). What is
left is valid in XML 1.0 and in HTML5 text, encodes as UTF-8, and cannot move a terminal's
cursor or restyle it.
"""

from __future__ import annotations

import re

# Kept as they are: tab and line feed. Escaped: every other C0 control (CR included, so a
# stray CR is seen rather than silently dropped by an XML parser or a terminal), DEL, the C1
# controls, the surrogates (only lone ones can occur in a str), the bidirectional embedding,
# override and isolate controls (https://www.unicode.org/reports/tr9/), and the
# noncharacters U+FDD0..U+FDEF and U+xFFFE/U+xFFFF, which XML 1.0 §2.2 and HTML forbid.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """``text`` with every invisible or unsafe character replaced by a visible escape."""
    return _INVISIBLE.sub(_escape_char, text)


def _byte_escapes() -> tuple[str, ...]:
    table = []
    for byte in range(256):
        if byte == 0x0A:
            table.append("\\n\n")  # shown, and a real line break after it for readability
        elif byte == 0x0D:
            table.append("\\r")
        elif byte == 0x09:
            table.append("\\t")
        elif byte == 0x5C:
            table.append("\\\\")  # so that "\x00" in the output always means the byte 0
        elif 0x20 <= byte < 0x7F or (0xA0 < byte <= 0xFF and byte != 0xAD):
            table.append(chr(byte))  # printable ASCII, and printable Latin-1
        else:
            table.append(f"\\x{byte:02x}")  # controls, DEL, C1, NBSP, soft hyphen
    return tuple(table)


_BYTE_ESCAPES = _byte_escapes()


def escape_bytes(data: bytes) -> str:
    """Wire bytes as readable text: Latin-1 where printable, escapes for everything else.

    Each byte maps to one character or one escape, so the text is lossless; ``\\n`` is shown
    and also followed by a line break so HTTP/1.1 messages read as they do on the wire.
    """
    return "".join([_BYTE_ESCAPES[byte] for byte in data])


def hex_dump(data: bytes, width: int = 16) -> str:
    """A classic ``offset  hex bytes  |ascii|`` dump, one line per ``width`` bytes."""
    lines = []
    half = width // 2
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        left = " ".join(f"{b:02x}" for b in chunk[:half])
        right = " ".join(f"{b:02x}" for b in chunk[half:])
        hex_part = f"{left:<{half * 3 - 1}}  {right:<{half * 3 - 1}}"
        ascii_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part}  |{ascii_part}|")
    return "\n".join(lines)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def rfc_url(rfc: str, section: str) -> str:
    """The rfc-editor.org address of an RFC section (an appendix when it starts with a letter)."""
    from urllib.parse import quote

    url = f"https://www.rfc-editor.org/rfc/rfc{quote(rfc, safe='')}"
    if section:
        kind = "appendix" if section[:1].isalpha() else "section"
        url += f"#{kind}-{quote(section, safe='.')}"
    return url
