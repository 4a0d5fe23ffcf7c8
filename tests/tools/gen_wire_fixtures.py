#!/usr/bin/env python3
"""Writes the wire codec's fixtures (run once; the outputs are committed).

  tests/fixtures/wire/<type>.msgpack      one valid encoding per message type
  tests/fixtures/hostile/<attack>.msgpack hostile frames (expected errc: tests/unit/wire/hostile_test.cpp)
  tests/fuzz/corpus/wire_decode/          seed corpus: copies of both sets

The msgpack here is packed by hand, independently of msgpack-c, in the
smallest form (as msgpack-c packs): codec_test.cpp checks that decoding and
re-encoding each valid file gives back the same bytes, which pins the wire
format to messages.hpp.

Usage: python3 tests/tools/gen_wire_fixtures.py   (from the repository root)
"""
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALID_DIR = os.path.join(ROOT, "tests/fixtures/wire")
HOSTILE_DIR = os.path.join(ROOT, "tests/fixtures/hostile")
CORPUS_DIR = os.path.join(ROOT, "tests/fuzz/corpus/wire_decode")

MAX_STR = 4096             # limits::max_msgpack_str
MAX_BIN = 128 * 1024 + 1024  # limits::max_msgpack_bin
MAX_ARRAY = 4096           # limits::max_msgpack_array


def pack(x):
    """Smallest msgpack encoding of bool/int/str/bytes/list."""
    if isinstance(x, bool):
        return b"\xc3" if x else b"\xc2"
    if isinstance(x, int):
        if 0 <= x < 128:
            return bytes([x])
        if x >= 0:
            for fmt, code in (("B", 0xCC), (">H", 0xCD), (">I", 0xCE), (">Q", 0xCF)):
                try:
                    return bytes([code]) + struct.pack(fmt, x)
                except struct.error:
                    continue
            raise ValueError(x)
        if x >= -32:
            return struct.pack("b", x)
        for fmt, code in (("b", 0xD0), (">h", 0xD1), (">i", 0xD2), (">q", 0xD3)):
            try:
                return bytes([code]) + struct.pack(fmt, x)
            except struct.error:
                continue
        raise ValueError(x)
    if isinstance(x, str):
        b = x.encode("utf-8")
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n < 256:
            return b"\xd9" + struct.pack("B", n) + b
        if n < 65536:
            return b"\xda" + struct.pack(">H", n) + b
        return b"\xdb" + struct.pack(">I", n) + b
    if isinstance(x, (bytes, bytearray)):
        n = len(x)
        if n < 256:
            return b"\xc4" + struct.pack("B", n) + bytes(x)
        if n < 65536:
            return b"\xc5" + struct.pack(">H", n) + bytes(x)
        return b"\xc6" + struct.pack(">I", n) + bytes(x)
    if isinstance(x, list):
        n = len(x)
        if n < 16:
            head = bytes([0x90 | n])
        elif n < 65536:
            head = b"\xdc" + struct.pack(">H", n)
        else:
            head = b"\xdd" + struct.pack(">I", n)
        return head + b"".join(pack(i) for i in x)
    raise TypeError(type(x))


def key(seed, n=32):
    return bytes((seed + i) & 0xFF for i in range(n))


def entry(name, kind, size, mtime, mode):
    return [name, kind, size, mtime, mode]


U32 = 2**32 - 1
U64 = 2**64 - 1
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

# One valid message per type: [tag, fields...] in messages.hpp order.
VALID = {
    "hello": [1, 3, key(1)],
    "hello_reply": [2, U32, key(2), key(3), key(4, 64)],
    "auth": [3, key(5, 112)],
    "welcome": [4, True, "server-ünï"],
    "refused": [5, 21, "key not trusted"],
    "ping": [10, 7, -1],
    "pong": [11, 300, I64_MIN, I64_MAX],
    "ok": [12, 65536],
    "error_reply": [13, 42, 5, "no such file: a/b"],
    "stat_request": [20, 1, "dir/日本語.txt"],
    "stat_reply": [21, 2, entry("dir/f", 0, U64, -5, 0o644)],
    "list_request": [22, 3, "dir", 1024],
    "list_reply": [23, 4, [entry("a", 0, 1, 2, 0o600), entry("b" * 40, 1, 0, -1, 0o755),
                           entry("ln", 2, 12, 1700000000123456789, 0o777)], True],
    "mkdir_request": [24, 5, "new/dir", True, 0o700, 1700000000000000000],
    "rmdir_request": [25, 6, "old"],
    "remove_request": [26, 7, "tree", True],
    "move_request": [27, 8, "from/x", "to/y"],
    "put_begin": [30, 9, "big.bin", 2**32 + 5, -1000, 0o640, False],
    "put_ready": [31, 10, 11, True, 300, key(6)],
    "put_block": [32, 12, 2**40, bytes(range(256)) * 4, key(7)],
    "put_block_ack": [33, 13, U64],
    "put_commit": [34, 14, 15, key(8)],
    "get_open": [40, 16, "some/file"],
    "get_info": [41, 17, 18, entry("some/file", 0, 100, 0, 0o644)],
    "get_prefix": [42, 19, 20, 64],
    "get_prefix_reply": [43, 21, key(9)],
    "get_block": [44, 22, 23, 255],
    "get_block_reply": [45, 24, 256, b"", key(10)],
    "get_close": [46, 25, 26],
    "bye": [60, "done"],
    "rate_limit": [61, 1048576],
    # folder sync (issue 4); record = [path, kind, deleted, size, mtime, mode, hash, [[dev, n]...], seq, target]
    "sync_index_request": [70, 27, U64, 28],
    "sync_index_reply": [71, 29, 30, [["a/b", 0, False, 5, -7, 0o644, key(11), [[U64, 3], [7, 1]], 9, ""],
                                      ["dir", 1, True, 0, 0, 0o755, bytes(32), [], 10, ""],
                                      ["a/l", 2, False, 3, 1, 0o777, key(18), [[7, 2]], 11, "../b"]], True],
    "sync_chunks_request": [72, 31, "a/b", key(12), 4096],
    "sync_chunks_reply": [73, 32, [[0, 65536, key(13)], [65536, U32, key(14)]], False],
    "sync_data_request": [74, 33, "a/b", 65536, 131072, key(15)],
    "sync_data_reply": [75, 34, bytes(range(256)) * 2],
    "sync_put": [76, 35, ["n/f", 0, False, 1, 2, 0o600, key(16), [[1, 1]], 0, ""], [[1, 0x10000]], "old/f",
                 [[0, 1, key(19)]]],
    "sync_put_ready": [77, 36, 37, [0, 2]],
    "sync_put_chunks": [78, 38, 39, 0, [[0, 1, key(17)]]],
    "sync_put_need": [79, 40, [0, 300, U64]],
    "sync_put_data": [80, 41, 42, b"chunk"],
    "sync_put_commit": [81, 43, 44],
}

PING = pack([10, 1, 2])

# name -> bytes; the expected errc of each is in hostile_test.cpp.
HOSTILE = {
    # A2: 5-byte headers that ask for 4 G elements or bytes.
    "array32_4g": b"\xdd\xff\xff\xff\xff",
    "map32_4g": b"\xdf\xff\xff\xff\xff",
    "str32_4g": b"\xdb\xff\xff\xff\xff",
    "bin32_4g": b"\xc6\xff\xff\xff\xff",
    # Counts and lengths just over the limits, with the data present.
    "array16_over_limit": b"\xdc" + struct.pack(">H", MAX_ARRAY + 1) + b"\x00" * (MAX_ARRAY + 1),
    "map16_over_limit": b"\xde" + struct.pack(">H", 65) + b"\x00\x00" * 65,
    "str_over_limit": pack([20, 1, "p" * (MAX_STR + 1)]),
    "bin_over_limit": pack([32, 1, 0, b"\xab" * (MAX_BIN + 1), key(0)]),
    # A3: nesting.
    "nested_100k": b"\x91" * 100000,
    "nested_9": b"\x91" * 8 + b"\x90",
    # A4: trailing data.
    "trailing_byte": PING + b"\x00",
    "two_messages": PING + PING,
    # A5: right msgpack, wrong schema.
    "not_an_array": pack(10),
    "map_at_top": b"\x81\x0a\x01",
    "empty": b"",
    "empty_array": pack([]),
    "type_tag_as_str": pack(["ping", 1, 2]),
    "negative_type_tag": pack([-10, 1, 2]),
    "wrong_field_type": pack([10, "one", 2]),
    "float_field": b"\x93\x0a\xcb" + struct.pack(">d", 1.0) + b"\x02",
    "nil_field": b"\x93\x0a\xc0\x02",
    "bool_as_int": pack([26, 1, "tree", 1]),
    "missing_field": pack([10, 1]),
    "extra_field": pack([10, 1, 2, 3]),
    "negative_size": pack([30, 1, "f", -1, 0, 0o644, True]),
    "uint32_overflow": pack([10, 2**32, 0]),
    "int64_overflow": pack([10, 1, 2**63]),
    "errc_out_of_range": pack([13, 1, 1000, "x"]),
    "entry_kind_out_of_range": pack([21, 1, entry("f", 4, 0, 0, 0)]),
    "entry_short": pack([23, 1, [entry("a", 0, 0, 0, 0)[:4]], False]),
    "entry_not_array": pack([21, 1, "f"]),
    "key_wrong_length": pack([1, 3, key(1, 31)]),
    "digest_too_long": pack([43, 1, key(1, 33)]),
    "str_as_bin_path": pack([20, 1, b"dir/file"]),
    "bin_as_str_sealed": pack([3, "sealed"]),
    "truncated_block": pack([32, 1, 0, b"\x01" * 1000, key(0)])[:600],
    "truncated_header": b"\x93\x0a\xcd\x01",
    "reserved_byte_c1": b"\x93\x0a\xc1\x02",
    # A6: unknown message type.
    "unknown_type": pack([99, 1]),
    "unknown_type_300": pack([300, 1]),
    # A8: ext types.
    "ext_type": b"\x93\x0a\xd4\x01\x00\x02",
    "ext_timestamp_top": b"\xd6\xff\x00\x00\x00\x00",
    "ext8_in_field": b"\x93\x0a\xc7\x03\x05abc\x02",
}


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    for name, msg in VALID.items():
        write(VALID_DIR, name + ".msgpack", pack(msg))
    for name, data in HOSTILE.items():
        write(HOSTILE_DIR, name + ".msgpack", data)
    if os.path.isdir(CORPUS_DIR):
        shutil.rmtree(CORPUS_DIR)
    for name, msg in VALID.items():
        write(CORPUS_DIR, "valid_" + name + ".msgpack", pack(msg))
    for name, data in HOSTILE.items():
        write(CORPUS_DIR, "hostile_" + name + ".msgpack", data)
    print(f"{len(VALID)} valid, {len(HOSTILE)} hostile fixtures written")


if __name__ == "__main__":
    main()
