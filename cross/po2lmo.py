#!/usr/bin/env python3
"""Compile a gettext .po file into LuCI's .lmo catalogue, as LuCI's po2lmo does.

    cross/po2lmo.py INPUT.po OUTPUT.lmo     (no output file when nothing is translated)
    cross/po2lmo.py --lookup FILE.lmo MSGID [CONTEXT]   print a translation (for the tests)

Why a compiler of our own: po2lmo is a host tool built from luci-base's sources by the
OpenWrt SDK, which the machines that pack rpinet cannot have; without it the prebuilt
luci-app-rpinet would ship no translations. Written from LuCI's description of the format
(modules/luci-base/src/po2lmo.c and lib/lmo.c): nothing copied.

The format: the translated strings, each padded with zeros to 4 bytes; then an index of
16-byte entries (key hash, plural slot + 1, offset, length; big-endian u32) sorted by key
hash; then the index's offset as a big-endian u32. The key hash is Paul Hsieh's
SuperFastHash (seeded with the length) of the msgid, of "CTX\\x01MSGID" with a context, and
"\\x02N" appended for plural form N. The Plural-Forms header is stored under key 0. A
translation equal to its key (by hash) is left out, as LuCI falls back to the key.
"""

import struct
import sys


def sfh(data: bytes) -> int:
    """SuperFastHash, seeded with the length, 32-bit."""
    m = 0xFFFFFFFF
    h = len(data)
    if h == 0:
        return 0

    def get16(i):
        return data[i] | (data[i + 1] << 8)

    def signed(b):
        return b - 256 if b > 127 else b

    n, rem = divmod(len(data), 4)
    i = 0
    for _ in range(n):
        h = (h + get16(i)) & m
        tmp = ((get16(i + 2) << 11) ^ h) & m
        h = ((h << 16) ^ tmp) & m
        i += 4
        h = (h + (h >> 11)) & m
    if rem == 3:
        h = (h + get16(i)) & m
        h ^= (h << 16) & m
        h ^= (signed(data[i + 2]) << 18) & m
        h = (h + (h >> 11)) & m
    elif rem == 2:
        h = (h + get16(i)) & m
        h ^= (h << 11) & m
        h = (h + (h >> 17)) & m
    elif rem == 1:
        h = (h + signed(data[i])) & m
        h ^= (h << 10) & m
        h = (h + (h >> 1)) & m
    h ^= (h << 3) & m
    h = (h + (h >> 5)) & m
    h ^= (h << 4) & m
    h = (h + (h >> 17)) & m
    h ^= (h << 25) & m
    h = (h + (h >> 6)) & m
    return h


def unquote(line: str) -> str:
    """The text between the first and the last quote; \\" and \\\\ lose their backslash,
    other escapes (\\n) stay as written, as po2lmo keeps them."""
    start = line.find('"')
    if start < 0:
        return ""
    out, i = [], start + 1
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            nxt = line[i + 1]
            out.append(nxt if nxt in '"\\' else c + nxt)
            i += 2
            continue
        if c == '"':
            break
        out.append(c)
        i += 1
    return "".join(out)


def parse(text: str):
    """The messages of a .po file: dicts with ctxt, id, id_plural and vals {slot: text}."""
    msgs, cur, field = [], None, None

    def new():
        return {"ctxt": None, "id": None, "id_plural": None, "vals": {}}

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgctxt "):
            if cur and (cur["id"] is not None or cur["vals"]):
                msgs.append(cur)
            cur, field = new(), ("ctxt",)
            cur["ctxt"] = unquote(line)
        elif line.startswith("msgid_plural "):
            field = ("id_plural",)
            cur["id_plural"] = unquote(line)
        elif line.startswith("msgid "):
            if cur is None or cur["id"] is not None or cur["vals"]:
                if cur and (cur["id"] is not None or cur["vals"]):
                    msgs.append(cur)
                ctxt = None
            else:
                ctxt = cur["ctxt"]
            cur = new()
            cur["ctxt"] = ctxt
            cur["id"] = unquote(line)
            field = ("id",)
        elif line.startswith("msgstr"):
            slot = int(line[7 : line.index("]")]) if line.startswith("msgstr[") else 0
            if slot >= 10:
                raise ValueError("too many plural forms")
            cur["vals"][slot] = unquote(line)
            field = ("vals", slot)
        elif line.startswith('"') and field is not None:
            if field[0] == "vals":
                cur["vals"][field[1]] += unquote(line)
            else:
                cur[field[0]] = (cur[field[0]] or "") + unquote(line)
    if cur and (cur["id"] is not None or cur["vals"]):
        msgs.append(cur)
    return msgs


def key_of(ctxt, msgid, plural, slot):
    key = msgid
    if ctxt is not None:
        key = ctxt + "\x01" + key
    if plural is not None:
        key += "\x02%d" % slot
    return key.encode()


def compile_po(text: str) -> bytes:
    data, index = bytearray(), []

    def store(key_id, val_id, value: bytes):
        index.append((key_id, val_id, len(data), len(value)))
        data.extend(value + bytes(-len(value) % 4))

    for m in parse(text):
        if m["id"]:
            top = max(m["vals"]) if m["vals"] else -1
            for slot in range(top + 1):
                val = m["vals"].get(slot)
                if not val:
                    continue
                key = key_of(m["ctxt"], m["id"], m["id_plural"], slot)
                value = val.encode()
                if sfh(key) != sfh(value):
                    store(sfh(key), top + 1, value)
        elif m["vals"].get(0):
            # The header: its Plural-Forms line, under key 0.
            for line in m["vals"][0].split("\\n"):
                if line.lower().startswith("plural-forms: "):
                    store(0, 0, line[14:].encode())
                    break
    if not data:
        return b""
    out = bytes(data)
    for e in sorted(index, key=lambda e: e[0]):
        out += struct.pack(">IIII", *e)
    return out + struct.pack(">I", len(data))


def lookup(lmo: bytes, msgid: str, ctxt=None):
    """What LuCI's lmo_translate_ctxt finds for MSGID (whitespace runs canonicalised)."""

    def canon(s):
        return " ".join(s.split())

    key = canon(msgid) if ctxt is None else canon(ctxt) + "\x01" + canon(msgid)
    want = sfh(key.encode())
    (idx,) = struct.unpack(">I", lmo[-4:])
    for off in range(idx, len(lmo) - 4, 16):
        k, _, o, n = struct.unpack(">IIII", lmo[off : off + 16])
        if k == want:
            return lmo[o : o + n].decode()
    return None


def main(argv):
    if len(argv) >= 3 and argv[0] == "--lookup":
        found = lookup(open(argv[1], "rb").read(), argv[2], argv[3] if len(argv) > 3 else None)
        if found is None:
            return 1
        print(found)
        return 0
    if len(argv) != 2:
        print("usage: po2lmo.py INPUT.po OUTPUT.lmo", file=sys.stderr)
        return 2
    src, dst = argv
    try:
        out = compile_po(open(src, encoding="utf-8").read())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        print("po2lmo: %s: %s" % (src, e), file=sys.stderr)
        return 1
    if out:
        with open(dst, "wb") as f:
            f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
