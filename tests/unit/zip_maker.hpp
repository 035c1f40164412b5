// Builds zip archives in memory with libarchive's writer, including the
// hostile ones no ordinary zip tool makes (../ paths, device entries...).
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

inline std::string make_raw_zip(std::vector<RawEntry> const& entries) {
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
    u16(central, static_cast<unsigned>(e.path.size())); u16(central, 0); u16(central, 0);
    u16(central, 0); u16(central, 0);
    u32(central, static_cast<std::uint32_t>(e.mode) << 16);
    u32(central, offset);
    central += e.path;
  }
  auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  u32(out, 0x06054b50);
  u16(out, 0); u16(out, 0);
  u16(out, static_cast<unsigned>(entries.size())); u16(out, static_cast<unsigned>(entries.size()));
  u32(out, static_cast<std::uint32_t>(central.size())); u32(out, cd_offset);
  u16(out, 0);
  return out;
}

}  // namespace lambdad::test
