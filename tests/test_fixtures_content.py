"""The content model per file type (#19): every version of every structured file of a generated history is valid
for its type, each checker rejects a broken sample, and the history is the one without the model (same random
stream: same changesets, same files, same sizes), only the bytes of those files differ.

Generated: Python, JSON, YAML, SVG, XML, HTML (filetypes.DIALECTS) and images (.png, .gif). A typed text is its
type's header, a body with the generic text's layout (every line as long), its type's footer."""

from __future__ import annotations

import ast
import json
import posixpath
import re
import struct
import zlib
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
import yaml

from hgharness.fixtures import content as C
from hgharness.fixtures import filetypes as FT
from hgharness.fixtures import model as M
from hgharness.fixtures.generate import generate

EXTS = {".py": 5, ".json": 2, ".yaml": 1, ".yml": 1, ".svg": 1, ".xml": 1, ".html": 1, ".htm": 0.5, ".png": 1,
        ".gif": 1, ".txt": 1}


def every_type_profile() -> dict:
    p = M.load_profile("small")
    p["name"] = "every-type"
    p["distributions"]["extensions"] = {"mix": dict(EXTS)}
    p["distributions"]["binary"] = {"p": 0.12}
    return p


# --- checkers ---------------------------------------------------------------------------------------------------

def check_py(data: bytes):
    compile(ast.parse(data), "<generated>", "exec")  # compiled too: a `return` outside a function parses


def check_json(data: bytes):
    json.loads(data)


def check_yaml(data: bytes):
    yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def check_xml(data: bytes):
    ElementTree.fromstring(data)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Balanced(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            raise ValueError(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        self.stack.pop()


def check_html(data: bytes):
    p = _Balanced()
    p.feed(data.decode("utf-8"))
    p.close()
    if p.stack:
        raise ValueError(f"unclosed {p.stack}")
    if not data.lstrip().lower().startswith(b"<!doctype html>"):
        raise ValueError("no doctype")


def check_png(data: bytes) -> tuple[int, int]:
    """Decode a PNG (8-bit RGB or grey): chunks and their CRCs, IHDR first, IDAT inflated and unfiltered to
    exactly height scanlines, IEND last with nothing after it. Returns (width, height)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG signature")
    at, chunks = 8, []
    while at < len(data):
        if at + 12 > len(data):
            raise ValueError("truncated chunk")
        (n,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + n]
        if len(body) != n or at + 12 + n > len(data):
            raise ValueError("truncated chunk")
        (crc,) = struct.unpack(">I", data[at + 8 + n:at + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        chunks.append((kind, body))
        at += 12 + n
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("IHDR first and IEND last")
    w, h, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or color not in (0, 2) or comp or filt or interlace or not w or not h:
        raise ValueError("unsupported IHDR")
    bpp = 3 if color == 2 else 1
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = w * bpp
    if len(raw) != h * (1 + stride):
        raise ValueError(f"{len(raw)} bytes of image data for {w}x{h}")
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (1 + stride)]
        line = bytearray(raw[y * (1 + stride) + 1:(y + 1) * (1 + stride)])
        if f > 4:
            raise ValueError(f"filter {f}")
        for i in range(stride) if f else ():
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            pred = (0, a, b, (a + b) // 2, 0)[f] if f != 4 else (
                a if abs(b - c) <= abs(a - c) and abs(b - c) <= abs(a + b - 2 * c) else
                b if abs(a - c) <= abs(a + b - 2 * c) else c)
            line[i] = (line[i] + pred) & 0xFF
        prev = line
    return w, h


def _sub_blocks(data: bytes, at: int) -> tuple[bytes, int]:
    out = []
    while True:
        if at >= len(data):
            raise ValueError("truncated sub-blocks")
        n = data[at]
        if not n:
            return b"".join(out), at + 1
        out.append(data[at + 1:at + 1 + n])
        if len(out[-1]) != n:
            raise ValueError("truncated sub-block")
        at += 1 + n


def _lzw(codes: bytes, min_size: int, pixels: int) -> int:
    """Decode GIF LZW (variable code width, clear and end codes); returns the pixels decoded."""
    clear, end = 1 << min_size, (1 << min_size) + 1
    width, table, prev, out = min_size + 1, None, None, 0
    bits = int.from_bytes(codes, "little")
    pos, total = 0, len(codes) * 8
    while pos + width <= total:
        code = (bits >> pos) & ((1 << width) - 1)
        pos += width
        if code == clear:
            table = [bytes([i]) for i in range(clear)] + [b"", b""]
            width, prev = min_size + 1, None
            continue
        if code == end:
            break
        if table is None:
            raise ValueError("no clear code first")
        if code < len(table) and code not in (clear, end):
            entry = table[code]
        elif code == len(table) and prev is not None:
            entry = prev + prev[:1]
        else:
            raise ValueError(f"bad LZW code {code}")
        out += len(entry)
        if prev is not None:
            table.append(prev + entry[:1])
            if len(table) == (1 << width) and width < 12:
                width += 1
        prev = entry
    else:
        raise ValueError("no end code")
    if out != pixels:
        raise ValueError(f"{out} pixels for {pixels}")
    return out


def check_gif(data: bytes) -> tuple[int, int]:
    """Decode a GIF87a/89a: screen, colour table, extensions, every image's LZW data to exactly its pixels, the
    trailer last."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("no GIF header")
    w, h, flags, _bg, _aspect = struct.unpack("<HHBBB", data[6:13])
    at = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    images = 0
    while True:
        if at >= len(data):
            raise ValueError("no trailer")
        b = data[at]
        if b == 0x3B:
            if at != len(data) - 1:
                raise ValueError("bytes after the trailer")
            break
        if b == 0x21:
            _, at = _sub_blocks(data, at + 2)
        elif b == 0x2C:
            _x, _y, iw, ih, iflags = struct.unpack("<HHHHB", data[at + 1:at + 10])
            at += 10 + (3 << ((iflags & 7) + 1) if iflags & 0x80 else 0)
            min_size = data[at]
            codes, at = _sub_blocks(data, at + 1)
            _lzw(codes, min_size, iw * ih)
            images += 1
        else:
            raise ValueError(f"unknown block {b:#x}")
    if not images:
        raise ValueError("no image")
    return w, h


CHECKS = {".py": check_py, ".json": check_json, ".yaml": check_yaml, ".yml": check_yaml, ".svg": check_xml,
          ".xml": check_xml, ".html": check_html, ".htm": check_html, ".png": check_png, ".gif": check_gif}


GENERATED = set(FT.DIALECTS) | set(FT.IMAGE_EXTS)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1:]


BROKEN = {
    ".py": b"def f(:\n    pass\n",
    ".json": b'[\n  {"a": 1},\n]\n',
    ".yaml": b"- a: [1, 2\n- b\n",
    ".svg": b'<svg xmlns="http://www.w3.org/2000/svg"><g></svg>\n',
    ".xml": b"<root><a></root>\n",
    ".html": b"<!DOCTYPE html>\n<html><body><p><div>x</p></div></body></html>\n",
    ".png": _flip(FT.png(1, 500), 40),          # a byte of the image data: its CRC no longer matches
    ".gif": FT.gif(1, 1000)[:-40] + b";",       # cut short
}


@pytest.mark.parametrize("ext", sorted(BROKEN))
def test_each_checker_rejects_a_broken_sample(ext):
    with pytest.raises((SyntaxError, ValueError, yaml.YAMLError, ElementTree.ParseError, zlib.error)):
        CHECKS[ext](BROKEN[ext])


def test_images_decode_at_the_exact_size_asked():
    for size in list(range(1, 600, 7)) + [4095, 4096, 65535, 65536, 65537, 300000]:
        for ext, make in ((".png", FT.png), (".gif", FT.gif)):
            data = make(size, size)
            assert len(data) == max(size, FT.min_size(ext)), (ext, size)
            w, h = CHECKS[ext](data)
            assert w * h >= 1
            assert b"\0" in data[:8192]  # binary as Mercurial and analyze see it


# --- a history: every version of every structured file ---------------------------------------------------------

@pytest.fixture(scope="module")
def histories(tmp_path_factory):
    base = tmp_path_factory.mktemp("content")
    generate(every_type_profile(), 400, 3, base / "typed")
    mp = pytest.MonkeyPatch()
    mp.setattr(C, "TYPED", False)
    try:
        generate(every_type_profile(), 400, 3, base / "plain")
    finally:
        mp.undo()
    return base / "typed", base / "plain"


def _ext(path: bytes) -> str:
    return posixpath.splitext(path.decode("utf-8", "replace"))[1].lower()


def test_every_version_of_every_structured_file_is_valid(histories):
    from hgharness.hg import open_repo

    repo = open_repo(histories[0])
    checked: dict[str, int] = {}
    bad = []
    for rev in repo:
        ctx = repo[rev]
        for f in ctx.files():
            ext = _ext(f)
            if f not in ctx or ext not in GENERATED or ctx[f].islink():
                continue
            try:
                CHECKS[ext](ctx[f].data())
            except Exception as e:  # noqa: BLE001  (any failure of a checker is a finding)
                bad.append(f"r{rev} {f.decode()}: {type(e).__name__}: {e}"[:200])
            checked[ext] = checked.get(ext, 0) + 1
    assert not bad, f"{len(bad)} invalid: " + "; ".join(bad[:5])
    assert set(checked) == GENERATED, checked
    assert min(checked.values()) >= 5, checked
    # versions written by edits (a file's revision > 0), not only new files
    edited = [f for f in repo[b"tip"].manifest() if _ext(f) in (".yaml", ".yml") and len(repo.file(f)) > 3]
    assert edited


def nodeless(text: bytes) -> bytes:
    """A message with its changeset hashes blanked (tag commits name the tagged node: other bytes, other hash)."""
    return re.sub(rb"\b[0-9a-f]{12,40}\b", b"NODE", text)


def test_the_history_is_the_one_without_the_content_model(histories):
    """The main random stream is drawn as without the model: same parents, authors, dates, branches, messages,
    the same files in each changeset, and at the tip the same size for every file (images below the smallest
    valid PNG or GIF excepted); the bytes of the typed files differ (but for a text of blank lines: seen at a .yaml
    holding b"\\n" alone)."""
    from hgharness.hg import open_repo

    typed, plain = open_repo(histories[0]), open_repo(histories[1])
    assert len(typed) == len(plain)
    for rev in typed:
        a, b = typed[rev], plain[rev]
        assert [p.rev() for p in a.parents()] == [p.rev() for p in b.parents()]
        assert (a.user(), a.date(), a.branch(), nodeless(a.description()), a.files()) == (
            b.user(), b.date(), b.branch(), nodeless(b.description()), b.files()), rev
    ma, mb = typed[b"tip"].manifest(), plain[b"tip"].manifest()
    assert sorted(ma) == sorted(mb)
    differ = 0
    for f in ma:
        da, db = typed[b"tip"][f].data(), plain[b"tip"][f].data()
        ext = _ext(f)
        if ext in FT.IMAGE_EXTS and ma.flags(f) != b"l":
            assert len(da) == max(len(db), FT.min_size(ext)), f
        elif ext in FT.DIALECTS and ma.flags(f) != b"l":
            assert body_layout(da, ext, ma.flags(f) == b"x") == layout(db), f
        else:
            assert len(da) == len(db), f
        differ += da != db
        if ext in GENERATED and ma.flags(f) != b"l" and da.strip():  # blank lines keep their lengths: the same
            assert da != db, f
    assert differ


def layout(data: bytes) -> list[int]:
    return [len(x) for x in data.split(b"\n")]


def body_layout(data: bytes, ext: str, exe: bool) -> list[int]:
    """The line lengths of a typed text between its type's header and footer (which must be there)."""
    d = FT.DIALECTS[ext](__import__("random").Random(0), ["word"])
    got = d.bounds(data, exe)
    if got is None or (ext == ".py" and b"import " not in data[:got[0]]):
        raise AssertionError(f"{ext} text without its header and footer: {data[:60]!r}")
    return layout(data[got[0]:got[1]])


@pytest.mark.parametrize("ext", sorted(FT.DIALECTS))
def test_every_pool_line_has_the_length_asked(ext):
    import random

    d = FT.DIALECTS[ext](random.Random(1), C.WORDS)
    for n in list(range(0, 200)) * 3 + [400, 1000, 5000]:
        line = d.line(n)
        assert len(line) == n and "\n" not in line, (n, line)


@pytest.mark.parametrize("ext", sorted(FT.DIALECTS))
def test_many_edits_of_one_file_stay_valid_and_their_deltas_apply(ext):
    """200 edits in a row of one typed file (small hunks and whole-file rewrites, CRLF or not): each version is
    valid, has the generic text's layout in its body, and its delta turns the previous version into it."""
    import random

    from mercurial import mdiff

    profile = every_type_profile()
    for crlf, exe in ((False, False), (True, True)):
        content = C.Content(random.Random(5), profile, C.Names(random.Random(5), profile), crng=random.Random(6))
        data = content.text(crlf, exe, 3000, ext)
        for i in range(200):
            new, delta = content.edit(data, crlf, ext, exe)
            CHECKS[ext](new)
            if delta is not None:
                assert mdiff.patches(data, [delta]) == new, i
            body_layout(new, ext, exe)
            data = new if i % 50 else content.text(crlf, exe, 200 + i, ext)
