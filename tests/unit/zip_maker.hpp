// Builds zip archives in memory with libarchive's writer, including the
// hostile ones no ordinary zip tool makes (../ paths, device entries, a
// central directory cut short...).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lambdad::test {

struct ZipEntry {
  ZipEntry(std::string p, std::string d = {}, unsigned t = AE_IFREG, unsigned m = 0644, std::string l = {})
      : path(std::move(p)), data(std::move(d)), type(t), perm(m), link(std::move(l)) {}
  std::string path;
  std::string data;
  unsigned type;
  unsigned perm;
  std::string link;  // symlink target
};

inline std::string make_zip(std::vector<ZipEntry> const& entries, bool deflate = true) {
  std::vector<char> buf(64u << 20);
  std::size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  if (!deflate) archive_write_set_format_option(a, "zip", "compression", "store");
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (auto const& e : entries) {
    archive_entry* en = archive_entry_new();
    archive_entry_set_pathname(en, e.path.c_str());
    archive_entry_set_filetype(en, e.type);
    archive_entry_set_perm(en, e.perm);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(en, e.link.c_str());
    if (e.type == AE_IFREG) archive_entry_set_size(en, static_cast<la_int64_t>(e.data.size()));
    if (e.type == AE_IFCHR) archive_entry_set_rdev(en, 0x0103);
    archive_write_header(a, en);
    if (e.type == AE_IFREG && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(en);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

// A stored (uncompressed) zip written byte by byte, for entries libarchive's
// writer refuses to produce: `mode` goes into the Unix external attributes.
struct RawEntry {
  std::string path;
  std::string data;
  unsigned mode;  // full st_mode, e.g. S_IFCHR | 0644
};

inline std::uint32_t crc32(std::string const& s) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// With `zip64`, the end records are zip64 ones (APPNOTE 4.3.14, 4.3.15) and
// each local header offset is in a zip64 extra field, as writers do past
// 65535 entries or 4 GiB.
inline std::string make_raw_zip(std::vector<RawEntry> const& entries, bool zip64 = false) {
  std::string out, central;
  auto u16 = [](std::string& s, unsigned v) {
    s.push_back(static_cast<char>(v & 0xff));
    s.push_back(static_cast<char>((v >> 8) & 0xff));
  };
  auto u32 = [&](std::string& s, std::uint32_t v) {
    u16(s, v & 0xffff);
    u16(s, v >> 16);
  };
  for (auto const& e : entries) {
    std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    std::uint32_t crc = crc32(e.data);
    auto size = static_cast<std::uint32_t>(e.data.size());
    u32(out, 0x04034b50);
    u16(out, 10); u16(out, 0); u16(out, 0); u16(out, 0); u16(out, 0);
    u32(out, crc); u32(out, size); u32(out, size);
    u16(out, static_cast<unsigned>(e.path.size())); u16(out, 0);
    out += e.path;
    out += e.data;
    u32(central, 0x02014b50);
    u16(central, (3u << 8) | 20u);  // made by Unix
    u16(central, 10); u16(central, 0); u16(central, 0); u16(central, 0); u16(central, 0);
    u32(central, crc); u32(central, size); u32(central, size);
    u16(central, static_cast<unsigned>(e.path.size())); u16(central, zip64 ? 12 : 0); u16(central, 0);
    u16(central, 0); u16(central, 0);
    u32(central, static_cast<std::uint32_t>(e.mode) << 16);
    u32(central, zip64 ? 0xffffffffu : offset);
    central += e.path;
    if (zip64) {  // extra field 0x0001 with only the saturated field: the offset
      u16(central, 1); u16(central, 8); u32(central, offset); u32(central, 0);
    }
  }
  auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  auto count = static_cast<std::uint32_t>(entries.size());
  if (zip64) {
    auto record = static_cast<std::uint32_t>(out.size());
    u32(out, 0x06064b50);
    u32(out, 44); u32(out, 0);  // size of the rest of the record
    u16(out, (3u << 8) | 45u); u16(out, 45);
    u32(out, 0); u32(out, 0);
    u32(out, count); u32(out, 0); u32(out, count); u32(out, 0);
    u32(out, static_cast<std::uint32_t>(central.size())); u32(out, 0);
    u32(out, cd_offset); u32(out, 0);
    u32(out, 0x07064b50);
    u32(out, 0); u32(out, record); u32(out, 0); u32(out, 1);
  }
  u32(out, 0x06054b50);
  u16(out, 0); u16(out, 0);
  u16(out, zip64 ? 0xffffu : count); u16(out, zip64 ? 0xffffu : count);
  u32(out, zip64 ? 0xffffffffu : static_cast<std::uint32_t>(central.size()));
  u32(out, zip64 ? 0xffffffffu : cd_offset);
  u16(out, 0);
  return out;
}

// Offsets into a zip's end-of-central-directory record (APPNOTE 4.3.16).
inline std::size_t eocd_offset(std::string const& zip) { return zip.rfind(std::string("PK\x05\x06", 4)); }

inline std::uint32_t get_u32(std::string const& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(k)]);
  return v;
}

inline void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + static_cast<std::size_t>(k)] = static_cast<char>((v >> (8 * k)) & 0xff);
}

// Removes the last `drop` bytes of the central directory, keeping the end
// record as it was (it then claims more than is there) or, with `fix_size`,
// shrinking the size it records (its entry count stays).
inline std::string truncate_central_directory(std::string zip, std::size_t drop, bool fix_size = false) {
  std::size_t eocd = eocd_offset(zip);
  if (fix_size) put_u32(zip, eocd + 12, get_u32(zip, eocd + 12) - static_cast<std::uint32_t>(drop));
  return zip.erase(eocd - drop, drop);
}

// Cuts `n` bytes off the end: into the end-of-central-directory record (22
// bytes without a comment), or further, into the central directory.
inline std::string cut_end(std::string const& zip, std::size_t n) { return zip.substr(0, zip.size() - n); }

// Size in bytes of the central directory entry that ends where the end
// record starts (the last one), for cutting exactly one entry.
inline std::size_t last_central_entry_size(std::string const& zip) {
  std::size_t eocd = eocd_offset(zip);
  std::size_t at = zip.rfind(std::string("PK\x01\x02", 4), eocd);
  return eocd - at;
}

// Data before the first local header, as a self-extracting zip has (its
// offsets stay as written, so they are all short by `prefix.size()`).
inline std::string with_prefix(std::string const& zip, std::string const& prefix) { return prefix + zip; }

// A zip comment after the end record (its length in the record's last field).
inline std::string with_comment(std::string zip, std::string const& comment) {
  std::size_t eocd = eocd_offset(zip);
  zip[eocd + 20] = static_cast<char>(comment.size() & 0xff);
  zip[eocd + 21] = static_cast<char>((comment.size() >> 8) & 0xff);
  return zip + comment;
}

}  // namespace lambdad::test
