#include <ftsync/wire/codec.hpp>

#include <ftsync/util/assert.hpp>

#include "wire/schema.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <string>

namespace ftsync::wire {
namespace {

// ---------------------------------------------------------------- encoding

// Appends [p, p + n) to `out`. glibc copies more than 2112 bytes
// (x86_rep_movsb_threshold) with `rep movsb`, which on our AMD EPYC machines
// runs at ~0.5 GB/s instead of ~10 GB/s when (dst - src) % 64 is small and
// non-zero (measured on 128 KiB copies: offset 9 -> 497 MB/s, 0 -> 11.9 GB/s;
// in 2 KiB pieces 8-30 GB/s at every offset). Block payloads sit at arbitrary
// offsets in frames, so they are copied in pieces below the threshold.
void append_bytes(bytes& out, const byte* p, std::size_t n) {
  constexpr std::size_t piece = 2048;
  for (; n > piece; p += piece, n -= piece) out.insert(out.end(), p, p + piece);
  out.insert(out.end(), p, p + n);
}

// Packer stream appending to the caller's vector: headers and bodies go
// straight into the output (a 128 KiB block is copied exactly once).
class appender {
 public:
  explicit appender(bytes& out) : m_out(out) {}
  void write(const char* data, std::size_t size) {
    append_bytes(m_out, reinterpret_cast<const byte*>(data), size);
  }

 private:
  bytes& m_out;
};

using packer = msgpack::packer<appender>;

std::uint32_t length32(std::size_t n) {
  // msgpack lengths are 32-bit; our own fields are far below that (limits.hpp),
  // so a longer one is a bug in the caller, not peer input.
  FTSYNC_ASSERT(n <= std::numeric_limits<std::uint32_t>::max());
  return static_cast<std::uint32_t>(n);
}

void pack(packer& pk, std::uint32_t v) { pk.pack_uint32(v); }
void pack(packer& pk, std::uint64_t v) { pk.pack_uint64(v); }
void pack(packer& pk, std::int64_t v) { pk.pack_int64(v); }
void pack(packer& pk, bool v) { v ? pk.pack_true() : pk.pack_false(); }
void pack(packer& pk, const std::string& s) {
  pk.pack_str(length32(s.size()));
  pk.pack_str_body(s.data(), length32(s.size()));
}
void pack(packer& pk, const bytes& b) {
  pk.pack_bin(length32(b.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), length32(b.size()));
}
template <std::size_t N>
void pack(packer& pk, const std::array<byte, N>& a) {
  pk.pack_bin(N);
  pk.pack_bin_body(reinterpret_cast<const char*>(a.data()), N);
}
void pack(packer& pk, errc code) {
  // A value outside the enum is a bug here; send `internal` rather than a
  // number the peer must reject as malformed.
  const int v = static_cast<int>(code);
  pk.pack_uint32(v >= 0 && v <= static_cast<int>(errc::internal)
                     ? static_cast<std::uint32_t>(v)
                     : static_cast<std::uint32_t>(errc::internal));
}
void pack(packer& pk, entry_kind kind) {
  const auto v = static_cast<std::uint8_t>(kind);
  pk.pack_uint8(
      v <= static_cast<std::uint8_t>(entry_kind::other) ? v : static_cast<std::uint8_t>(entry_kind::other));
}
template <class R>
  requires schema::is_record_v<R>
void pack(packer& pk, const R& r);
template <class T>
void pack(packer& pk, const std::vector<T>& items);

template <class S>
void pack_fields(packer& pk, const S& s) {
  std::apply([&pk](const auto&... f) { (pack(pk, f), ...); }, schema::fields(s));
}

template <class R>
  requires schema::is_record_v<R>
void pack(packer& pk, const R& r) {
  pk.pack_array(schema::field_count<R>);
  pack_fields(pk, r);
}
template <class T>
void pack(packer& pk, const std::vector<T>& items) {
  pk.pack_array(length32(items.size()));
  for (const auto& e : items) pack(pk, e);
}

// Upper bound of the encoded size, so encode_into reserves once instead of
// growing a 128 KiB buffer by doubling.
template <class S>
std::size_t size_hint(const S& s);

template <class T>
inline constexpr bool is_vector_v = false;
template <class T>
inline constexpr bool is_vector_v<std::vector<T>> = true;

template <class F>
std::size_t field_hint(const F& f) {
  if constexpr (std::is_same_v<F, std::string> || std::is_same_v<F, bytes>) {
    return 5 + f.size();
  } else if constexpr (schema::is_record_v<F>) {
    return size_hint(f);
  } else if constexpr (is_vector_v<F>) {
    std::size_t n = 5;
    for (const auto& e : f) n += field_hint(e);
    return n;
  } else {
    return 9 + sizeof(F);  // any int (<= 9 bytes) or a bin header plus a fixed array
  }
}

template <class S>
std::size_t size_hint(const S& s) {
  return std::apply([](const auto&... f) { return std::size_t{5} + (std::size_t{0} + ... + field_hint(f)); },
                    schema::fields(s));
}

// ---------------------------------------------------------------- decoding

using object = msgpack::object;
namespace mtype = msgpack::type;

// Readers return nullptr on success or a fixed description of the problem;
// they check `type` before touching `via`, and never use msgpack's throwing
// convert().
using problem = const char*;

template <class U>
problem read_unsigned(const object& o, U& out) {
  if (o.type == mtype::POSITIVE_INTEGER) {
    if (o.via.u64 > std::numeric_limits<U>::max()) return "unsigned integer out of range";
    out = static_cast<U>(o.via.u64);
    return nullptr;
  }
  if (o.type == mtype::NEGATIVE_INTEGER) return "negative value for an unsigned field";
  return "expected an unsigned integer";
}

problem read(const object& o, std::uint32_t& out) { return read_unsigned(o, out); }
problem read(const object& o, std::uint64_t& out) { return read_unsigned(o, out); }
problem read(const object& o, std::int64_t& out) {
  if (o.type == mtype::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return "integer out of range";
    out = static_cast<std::int64_t>(o.via.u64);
    return nullptr;
  }
  if (o.type == mtype::NEGATIVE_INTEGER) {
    out = o.via.i64;
    return nullptr;
  }
  return "expected an integer";
}
problem read(const object& o, bool& out) {
  if (o.type != mtype::BOOLEAN) return "expected a boolean";
  out = o.via.boolean;
  return nullptr;
}
problem read(const object& o, std::string& out) {
  if (o.type != mtype::STR) return "expected a str";
  if (o.via.str.size > 0) out.assign(o.via.str.ptr, o.via.str.size);
  return nullptr;
}
problem read(const object& o, bytes& out) {
  if (o.type != mtype::BIN) return "expected a bin";
  // The one copy of a block payload (reserved first: no reallocation).
  out.clear();
  out.reserve(o.via.bin.size);
  if (o.via.bin.size > 0) append_bytes(out, reinterpret_cast<const byte*>(o.via.bin.ptr), o.via.bin.size);
  return nullptr;
}
template <std::size_t N>
problem read(const object& o, std::array<byte, N>& out) {
  if (o.type != mtype::BIN) return "expected a bin";
  if (o.via.bin.size != N) return "bin has the wrong length for a key, signature or hash";
  std::memcpy(out.data(), o.via.bin.ptr, N);
  return nullptr;
}
problem read(const object& o, errc& out) {
  std::uint64_t v = 0;
  if (problem p = read_unsigned(o, v)) return p;
  if (v > static_cast<std::uint64_t>(errc::internal)) return "error code out of range";
  out = static_cast<errc>(v);
  return nullptr;
}
problem read(const object& o, entry_kind& out) {
  std::uint64_t v = 0;
  if (problem p = read_unsigned(o, v)) return p;
  if (v > static_cast<std::uint64_t>(entry_kind::other)) return "entry kind out of range";
  out = static_cast<entry_kind>(v);
  return nullptr;
}
template <class R>
  requires schema::is_record_v<R>
problem read(const object& o, R& out);
template <class T>
problem read(const object& o, std::vector<T>& out);

// Reads fields of `s` from items[0..]; on failure `at` is the failing field.
template <class S>
problem read_fields(const object* items, S& s, std::size_t& at) {
  auto tied = schema::fields(s);
  problem p = nullptr;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((at = I, p = read(items[I], std::get<I>(tied)), p == nullptr) && ...);
  }
  (std::make_index_sequence<std::tuple_size_v<decltype(tied)>>{});
  return p;
}

template <class R>
  requires schema::is_record_v<R>
problem read(const object& o, R& out) {
  if (o.type != mtype::ARRAY) return std::is_same_v<R, entry> ? "entry is not an array" : "record is not an array";
  if (o.via.array.size != schema::field_count<R>)
    return std::is_same_v<R, entry> ? "entry has the wrong field count" : "record has the wrong field count";
  std::size_t at = 0;
  return read_fields(o.via.array.ptr, out, at);
}
template <class T>
problem read(const object& o, std::vector<T>& out) {
  if (o.type != mtype::ARRAY) return std::is_same_v<T, entry> ? "expected an array of entries" : "expected an array";
  // size <= decode_limits::max_array, enforced by unpack_limit already.
  out.reserve(o.via.array.size);
  for (std::uint32_t i = 0; i < o.via.array.size; ++i)
    if (problem p = read(o.via.array.ptr[i], out.emplace_back())) return p;
  return nullptr;
}

template <std::size_t I>
result<message> decode_as(const object& top) {
  using M = std::variant_alternative_t<I, message>;
  constexpr std::size_t n = schema::field_count<M>;
  const std::string name = type_name(schema::k_tag_by_index[I]);
  if (top.via.array.size != n + 1)
    return make_error(errc::malformed, "decode: " + name + " has " + std::to_string(top.via.array.size - 1) +
                                           " fields, expected " + std::to_string(n));
  message out(std::in_place_index<I>);
  std::size_t at = 0;
  if (problem p = read_fields(top.via.array.ptr + 1, std::get<I>(out), at))
    return make_error(errc::malformed, "decode: " + name + " field " + std::to_string(at + 1) + ": " + p);
  return out;
}

using decoder = result<message> (*)(const object&);
constexpr std::array<decoder, schema::message_kinds> k_decoders =
    []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<decoder, schema::message_kinds>{&decode_as<I>...};
}
(std::make_index_sequence<schema::message_kinds>{});

result<message> from_object(const object& top) {
  if (top.type != mtype::ARRAY) return make_error(errc::malformed, "decode: message is not a msgpack array");
  if (top.via.array.size == 0) return make_error(errc::malformed, "decode: empty array, no type tag");
  const object& tag = top.via.array.ptr[0];
  if (tag.type != mtype::POSITIVE_INTEGER)
    return make_error(errc::malformed, "decode: type tag is not an unsigned integer");
  if (tag.via.u64 >= schema::k_index_by_tag.size() || schema::k_index_by_tag[tag.via.u64] < 0)
    return make_error(errc::unsupported, "decode: unknown message type " + std::to_string(tag.via.u64));
  return k_decoders[static_cast<std::size_t>(schema::k_index_by_tag[tag.via.u64])](top);
}

// Zero-copy unpack: str and bin objects point into the frame, which outlives
// the msgpack object; decode then copies each payload once into the struct.
bool reference_all(mtype::object_type, std::size_t, void*) { return true; }

std::size_t big_endian(const byte* p, std::size_t n) {
  std::size_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// msgpack-c reports a cut-off frame only as "insufficient bytes", but a str
// or bin header declaring more than its limit (`db ff ff ff ff` asks for
// 4 GiB in 5 bytes, security.md A2) is an oversize field: too_large. A flat
// walk over the headers finds the value the frame ends in; containers have
// no body of their own, and every header before the cut passed unpack_limit
// or msgpack-c would have thrown earlier.
error classify_truncated(byte_view f, const decode_limits& lim) {
  enum class kind { scalar, str, bin, ext };
  std::size_t pos = 0;
  while (pos < f.size()) {
    const byte b = f[pos];
    std::size_t len_bytes = 0;  // size of a length field after the type byte
    std::size_t body = 0;       // fixed body size (numbers, fixext, fixstr)
    kind k = kind::scalar;
    if (b <= 0x9f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // fixint, fixmap, fixarray, negative fixint, nil, bool: one byte.
    } else if (b <= 0xbf) {
      k = kind::str;
      body = b & 0x1fu;
    } else {
      switch (b) {
        case 0xc4:
        case 0xc5:
        case 0xc6:
          k = kind::bin;
          len_bytes = std::size_t{1} << (b - 0xc4);
          break;
        case 0xc7:
        case 0xc8:
        case 0xc9:
          k = kind::ext;
          len_bytes = std::size_t{1} << (b - 0xc7);
          break;
        case 0xd9:
        case 0xda:
        case 0xdb:
          k = kind::str;
          len_bytes = std::size_t{1} << (b - 0xd9);
          break;
        case 0xca:
          body = 4;
          break;
        case 0xcb:
          body = 8;
          break;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
          body = std::size_t{1} << (b - 0xcc);
          break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
          body = std::size_t{1} << (b - 0xd0);
          break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          body = 1 + (std::size_t{1} << (b - 0xd4));
          break;
        case 0xdc:
        case 0xde:
          len_bytes = 2;
          break;  // container counts, no body
        case 0xdd:
        case 0xdf:
          len_bytes = 4;
          break;
        default:
          return make_error(errc::malformed, "decode: invalid msgpack type byte");
      }
    }
    if (f.size() - pos - 1 < len_bytes)
      return make_error(errc::malformed, "decode: frame ends inside a msgpack header");
    if (k != kind::scalar && len_bytes > 0)
      body = big_endian(f.data() + pos + 1, len_bytes) + (k == kind::ext ? 1 : 0);
    const std::size_t head = 1 + len_bytes;
    const std::size_t left = f.size() - pos - head;
    if (body > left) {
      if (k == kind::str && body > lim.max_str)
        return make_error(errc::too_large, "decode: str of " + std::to_string(body) +
                                               " bytes exceeds the limit of " + std::to_string(lim.max_str));
      if (k == kind::bin && body > lim.max_bin)
        return make_error(errc::too_large, "decode: bin of " + std::to_string(body) +
                                               " bytes exceeds the limit of " + std::to_string(lim.max_bin));
      return make_error(errc::malformed, "decode: frame ends inside a msgpack value");
    }
    pos += head + body;
  }
  return make_error(errc::malformed, "decode: frame ends before the message is complete");
}

error over_limit(const char* what, std::size_t limit) {
  return make_error(errc::too_large, std::string("decode: msgpack ") + what + " exceeds the limit of " +
                                         std::to_string(limit));
}

}  // namespace

decode_limits handshake_limits() noexcept {
  decode_limits lim;
  lim.max_frame = limits::max_handshake_frame_bytes;
  // Handshake messages are flat arrays of at most 5 items (hello_reply);
  // nothing in them nests or uses maps.
  lim.max_depth = 2;
  lim.max_array = 16;
  lim.max_map = 0;
  // Strings are short names or reasons; the largest bin is auth's sealed
  // identity proof (32-byte key + 64-byte signature + 16-byte tag, 112 bytes).
  lim.max_str = 64;
  lim.max_bin = 256;
  return lim;
}

void encode_into(const message& m, bytes& out) {
  std::visit(
      [&out](const auto& msg) {
        using M = std::decay_t<decltype(msg)>;
        const std::size_t need = out.size() + size_hint(msg);
        if (out.capacity() < need) out.reserve(std::max(need, 2 * out.capacity()));
        appender app(out);
        packer pk(app);
        pk.pack_array(1 + schema::field_count<M>);
        pk.pack_uint8(static_cast<std::uint8_t>(schema::tag_of<M>()));
        pack_fields(pk, msg);
      },
      m);
}

bytes encode(const message& m) {
  bytes out;
  encode_into(m, out);
  return out;
}

result<message> decode(byte_view frame, const decode_limits& lim) {
  if (frame.size() > lim.max_frame)
    return make_error(errc::too_large, "decode: frame of " + std::to_string(frame.size()) +
                                           " bytes exceeds the limit of " + std::to_string(lim.max_frame));
  if (frame.empty()) return make_error(errc::malformed, "decode: empty frame");
  try {
    // ext = 0: ftsync uses no ext types (security.md A8).
    const msgpack::unpack_limit ul(lim.max_array, lim.max_map, lim.max_str, lim.max_bin, 0, lim.max_depth);
    std::size_t off = 0;
    const msgpack::object_handle oh = msgpack::unpack(reinterpret_cast<const char*>(frame.data()),
                                                      frame.size(), off, &reference_all, nullptr, ul);
    if (off != frame.size())
      return make_error(errc::malformed, "decode: " + std::to_string(frame.size() - off) +
                                             " trailing bytes after the message");
    return from_object(oh.get());
  } catch (const msgpack::array_size_overflow&) {
    return over_limit("array", lim.max_array);
  } catch (const msgpack::map_size_overflow&) {
    return over_limit("map", lim.max_map);
  } catch (const msgpack::str_size_overflow&) {
    return over_limit("str", lim.max_str);
  } catch (const msgpack::bin_size_overflow&) {
    return over_limit("bin", lim.max_bin);
  } catch (const msgpack::depth_size_overflow&) {
    return make_error(errc::too_deep,
                      "decode: msgpack nesting exceeds the limit of " + std::to_string(lim.max_depth));
  } catch (const msgpack::ext_size_overflow&) {
    return make_error(errc::malformed, "decode: msgpack ext types are not part of the protocol");
  } catch (const msgpack::insufficient_bytes&) {
    return classify_truncated(frame, lim);
  } catch (const msgpack::unpack_error& e) {
    return make_error(errc::malformed, std::string("decode: invalid msgpack: ") + e.what());
  } catch (const std::bad_alloc&) {
    // With the limits above one frame allocates < 1 MiB; reaching this means
    // the node is out of memory, and the frame is refused like an oversize one.
    return make_error(errc::too_large, "decode: out of memory while decoding");
  } catch (const std::exception& e) {
    return make_error(errc::malformed, std::string("decode: ") + e.what());
  } catch (...) {
    return make_error(errc::malformed, "decode: unknown failure");
  }
}

}  // namespace ftsync::wire
