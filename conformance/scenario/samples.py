"""Sample data of a recognisable character, generated from a seed: what compression cases
send instead of stored corpus files.

A compressor's output (and the bugs it shows) depends on what it compresses: long repeats in
JSON, a small alphabet in prose, nested tags in markup, smooth runs in a picture,
incompressible streams in a document. Each kind here builds, deterministically from its seed,
a corpus with that character and of a fixed length; a ``sample`` payload takes a window of it
(wrapping round at the end), and successive messages of a ``repeat`` take successive windows,
so that no two messages are alike and a compression context carries real history.

Only ``random`` and integer arithmetic are used, so the same seed gives the same bytes on
every platform and Python version. Corpora are built once per process and cached.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

# The lengths of the corpora: those of the files the Autobahn testsuite compresses in its
# sections 12 and 13, so that windows wrap round as often as there.
CORPUS_LENGTHS: dict[str, int] = {
    "json": 194_056,
    "bitmap": 263_222,
    "prose": 222_218,
    "markup": 263_527,
    "document": 1_042_328,
}

#: Kinds whose every window is valid UTF-8 (ASCII), fit for text messages.
TEXT_KINDS = frozenset({"json", "markup"})

_WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "system",
    "value",
    "status",
    "record",
    "account",
    "order",
    "item",
    "price",
    "total",
    "user",
    "session",
    "server",
    "client",
    "message",
    "frame",
    "window",
    "stream",
    "buffer",
    "socket",
    "header",
    "payload",
    "channel",
    "region",
    "cluster",
    "service",
    "metric",
    "event",
    "source",
    "target",
    "result",
    "error",
    "config",
    "version",
    "update",
]

_GERMAN = [
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "ich",
    "du",
    "er",
    "sie",
    "es",
    "wir",
    "ihr",
    "mit",
    "dem",
    "den",
    "des",
    "ein",
    "eine",
    "einen",
    "auch",
    "auf",
    "aus",
    "bei",
    "nach",
    "von",
    "vor",
    "zu",
    "über",
    "unter",
    "durch",
    "für",
    "gegen",
    "ohne",
    "um",
    "wenn",
    "dann",
    "doch",
    "noch",
    "schon",
    "nur",
    "so",
    "wie",
    "was",
    "wer",
    "wo",
    "mein",
    "dein",
    "sein",
    "Herz",
    "Geist",
    "Welt",
    "Nacht",
    "Tag",
    "Leben",
    "Liebe",
    "Gott",
    "Teufel",
    "Mensch",
    "Himmel",
    "Erde",
    "Zeit",
    "Kraft",
    "Seele",
    "Glück",
    "Schmerz",
    "Traum",
    "Wort",
    "Tat",
    "Blick",
    "Hand",
    "Mädchen",
    "Stunde",
    "Brust",
    "Lust",
    "Wissen",
    "Kunst",
    "Schöpfung",
    "Gestalt",
    "Natur",
    "Flamme",
    "Quelle",
    "Tränen",
    "Frühling",
    "möcht",
    "könnt",
    "müßt",
    "wäre",
    "hätte",
    "fühlt",
    "strebt",
    "sucht",
    "ruft",
    "spricht",
    "geht",
    "steht",
    "weiß",
    "kenne",
    "schön",
    "süß",
    "groß",
    "hoch",
    "tief",
    "dunkel",
    "hell",
    "ewig",
    "heilig",
    "still",
    "wild",
    "fromm",
    "müde",
    "froh",
    "bang",
]

_SPEAKERS = ("FAUST", "MEPHISTOPHELES", "WAGNER", "MARGARETE", "MARTHE", "CHOR", "GEIST")

_TAGS = ("div", "p", "span", "a", "li", "td", "h2", "em", "strong", "section")
_CLASSES = ("item", "row", "nav", "content", "header", "footer", "card", "title", "meta", "link")


def _json(rng: random.Random, length: int) -> bytes:
    """Records of an API answer: keys repeat, values vary (ASCII)."""
    parts: list[str] = ["["]
    size = 1
    index = 0
    while size < length:
        index += 1
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))
        tags = ", ".join(f'"{rng.choice(_WORDS)}"' for _ in range(rng.randint(0, 4)))
        record = (
            f'{{"id": {index}, "uuid": "{rng.getrandbits(64):016x}", "name": "{words}", '
            f'"active": {"true" if rng.random() < 0.5 else "false"}, '
            f'"score": {rng.randint(0, 99999) / 100}, "count": {rng.randint(0, 5000)}, '
            f'"tags": [{tags}], "owner": {{"user": "{rng.choice(_WORDS)}{rng.randint(1, 999)}", '
            f'"region": "{rng.choice(_WORDS)}-{rng.randint(1, 9)}"}}}},\n'
        )
        parts.append(record)
        size += len(record)
    return "".join(parts).encode("ascii")


def _prose(rng: random.Random, length: int) -> bytes:
    """German verse drama: a small alphabet with umlauts and ß, short lines (UTF-8)."""
    lines: list[str] = []
    size = 0
    while size < length:
        if rng.random() < 0.15:
            line = f"\n{rng.choice(_SPEAKERS)}:\n"
        else:
            words = [rng.choice(_GERMAN) for _ in range(rng.randint(4, 9))]
            words[0] = words[0][:1].upper() + words[0][1:]
            line = " ".join(words) + rng.choice((",", ".", "!", "?", ";", "")) + "\n"
        lines.append(line)
        size += len(line.encode("utf-8"))
    return "".join(lines).encode("utf-8")


def _markup(rng: random.Random, length: int) -> bytes:
    """An HTML page: nested elements with attributes around short texts (ASCII)."""
    parts: list[str] = ["<!DOCTYPE html>\n<html><head><title>Sample</title></head><body>\n"]
    size = len(parts[0])
    depth: list[str] = []
    while size < length:
        roll = rng.random()
        if roll < 0.4 and len(depth) < 8:
            tag = rng.choice(_TAGS)
            attrs = f' class="{rng.choice(_CLASSES)} {rng.choice(_CLASSES)}-{rng.randint(1, 40)}"'
            if tag == "a":
                attrs += f' href="/{rng.choice(_WORDS)}/{rng.randint(1, 9999)}.html"'
            piece = "  " * len(depth) + f"<{tag}{attrs}>\n"
            depth.append(tag)
        elif roll < 0.7 and depth:
            piece = "  " * (len(depth) - 1) + f"</{depth.pop()}>\n"
        else:
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12)))
            piece = "  " * len(depth) + text.capitalize() + ".\n"
        parts.append(piece)
        size += len(piece)
    return "".join(parts).encode("ascii")


def _bitmap(rng: random.Random, length: int) -> bytes:
    """An 8-bit greyscale BMP: header, palette, then rows of smooth shading with grain."""
    width = 512
    pixels = max(0, length - 1078)
    height = -(-pixels // width)
    header = b"BM" + (1078 + width * height).to_bytes(4, "little") + bytes(4) + (1078).to_bytes(4, "little")
    info = (
        (40).to_bytes(4, "little")
        + width.to_bytes(4, "little")
        + height.to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (8).to_bytes(2, "little")
        + bytes(8)
        + (2835).to_bytes(4, "little") * 2
        + (256).to_bytes(4, "little") * 2
    )
    palette = b"".join(bytes((g, g, g, 0)) for g in range(256))
    centres = [(rng.randrange(width), rng.randrange(height or 1), rng.randint(40, 200)) for _ in range(4)]
    # Each centre lights a diamond: (radius - d) * 255 // radius at Manhattan distance d <
    # radius. Its values by distance are computed once, and each row adds only the span the
    # diamond covers (a pixel-by-pixel loop over every centre took a third of a second).
    falloff = [[(radius - d) * 255 // radius for d in range(radius)] for _, _, radius in centres]
    rows = []
    for y in range(height):
        shades = [0] * width
        for (cx, cy, radius), values in zip(centres, falloff, strict=True):
            dy = abs(y - cy)
            if dy >= radius:
                continue
            for x in range(max(0, cx - (radius - dy) + 1), min(width, cx + (radius - dy))):
                shades[x] += values[dy + abs(x - cx)]
        row = bytearray(min(255, (shade + (x * 3 + y) // 8) // 2) for x, shade in enumerate(shades))
        for _ in range(width // 16):  # grain: a few pixels off the smooth value
            x = rng.randrange(width)
            row[x] = (row[x] + rng.randint(-12, 12)) & 0xFF
        rows.append(bytes(row))
    return (header + info + palette + b"".join(rows))[:length]


def _document(rng: random.Random, length: int) -> bytes:
    """A PDF-like file: text object headers around compressed (incompressible) streams."""
    parts: list[bytes] = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    size = len(parts[0])
    number = 0
    while size < length:
        number += 1
        if rng.random() < 0.3:
            piece = (
                f"{number} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                f"/Resources << /Font << /F1 {rng.randint(3, 40)} 0 R >> >> "
                f"/Contents {number + 1} 0 R >>\nendobj\n"
            ).encode("ascii")
        else:
            stream = rng.randbytes(rng.randint(256, 8192))
            piece = (
                f"{number} 0 obj\n<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode("ascii")
                + stream
                + b"\nendstream\nendobj\n"
            )
        parts.append(piece)
        size += len(piece)
    return b"".join(parts)


_BUILDERS: dict[str, Callable[[random.Random, int], bytes]] = {
    "json": _json,
    "prose": _prose,
    "markup": _markup,
    "bitmap": _bitmap,
    "document": _document,
}
KINDS = tuple(_BUILDERS)


@functools.lru_cache(maxsize=16)
def corpus(kind: str, seed: int = 0) -> bytes:
    """The whole corpus of a kind, exactly :data:`CORPUS_LENGTHS` bytes long."""
    length = CORPUS_LENGTHS[kind]
    data = _BUILDERS[kind](random.Random(f"{kind}:{seed}"), length)
    return data[:length]


def window(kind: str, size: int, *, seed: int = 0, index: int = 0) -> bytes:
    """The ``index``-th window of ``size`` bytes of the corpus, wrapping round at its end."""
    data = corpus(kind, seed)
    if size <= 0:
        return b""
    start = (index * size) % len(data)
    out = bytearray()
    while len(out) < size:
        take = data[start : start + size - len(out)]
        out += take
        start = 0
    return bytes(out)
