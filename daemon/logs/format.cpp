#include "format.hpp"

#include "util/crypto.hpp"

#include <openssl/rand.h>

#include <cmath>
#include <cstdio>
#include <ctime>

namespace lambdad::logs {

namespace {

std::string fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::tm utc(std::chrono::system_clock::time_point at) {
  std::time_t secs = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::string runtime_version(std::string_view runtime) {
  // As AWS writes runtime versions: "provided.al2023" -> "provided:al2023",
  // "python3.12" -> "python:3.12", "nodejs20.x" -> "nodejs:20".
  std::string family(runtime);
  if (family.rfind("python", 0) == 0) {
    family.insert(6, ":");
  } else if (family.rfind("nodejs", 0) == 0) {
    family.insert(6, ":");
    if (family.size() > 2 && family.compare(family.size() - 2, 2, ".x") == 0) family.resize(family.size() - 2);
  } else if (auto dot = family.find('.'); dot != std::string::npos) {
    family[dot] = ':';
  }
  return family + ".lambdad-" LAMBDAD_VERSION;
}

std::string runtime_version_arn(std::string_view version, std::string_view region) {
  return "arn:aws:lambda:" + std::string(region) + "::runtime:" + util::to_hex(util::sha256(version));
}

std::string init_start_line(std::string_view runtime, std::string_view region) {
  auto version = runtime_version(runtime);
  return "INIT_START Runtime Version: " + version + "\tRuntime Version ARN: " + runtime_version_arn(version, region);
}

std::string iso_time(std::chrono::system_clock::time_point at) {
  auto tm = utc(at);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string start_line(std::string_view request_id, std::string_view version) {
  return "START RequestId: " + std::string(request_id) + " Version: " + std::string(version);
}

std::string end_line(std::string_view request_id) { return "END RequestId: " + std::string(request_id); }

std::int64_t billed_duration_ms(ReportFigures const& f) {
  double total = f.duration_ms + f.init_ms.value_or(0.0);
  return static_cast<std::int64_t>(std::ceil(total));
}

std::uint64_t megabytes(std::uint64_t bytes) { return (bytes + (1u << 20) - 1) >> 20; }

std::string report_line(std::string_view request_id, ReportFigures const& f) {
  std::string out = "REPORT RequestId: " + std::string(request_id);
  out += "\tDuration: " + fixed2(f.duration_ms) + " ms";
  out += "\tBilled Duration: " + std::to_string(billed_duration_ms(f)) + " ms";
  out += "\tMemory Size: " + std::to_string(f.memory_size_mb) + " MB";
  if (f.max_memory_bytes) {
    auto mb = megabytes(*f.max_memory_bytes);
    out += "\tMax Memory Used: " + std::to_string(mb) + " MB";
  } else {
    out += "\tMax Memory Used: unmeasured";
  }
  out += "\t";
  if (f.init_ms) out += "Init Duration: " + fixed2(*f.init_ms) + " ms\t";
  return out;
}

std::string timeout_line(std::chrono::system_clock::time_point at, std::string_view request_id,
                         double timeout_seconds) {
  return iso_time(at) + " " + std::string(request_id) + " Task timed out after " + fixed2(timeout_seconds) +
         " seconds";
}

std::string init_report_line(double init_ms, std::string_view error_type) {
  return "INIT_REPORT Init Duration: " + fixed2(init_ms) + " ms\tPhase: init\tStatus: error\tError Type: " +
         std::string(error_type);
}

std::string log_stream_name(std::chrono::system_clock::time_point at, std::string_view version,
                            std::string_view function) {
  auto tm = utc(at);
  unsigned char rnd[16];
  RAND_bytes(rnd, sizeof rnd);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : rnd) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  char date[48];
  std::snprintf(date, sizeof date, "%04d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return std::string(date) + "/" + std::string(function) + "[" + std::string(version) + "]" + hex;
}

std::string tail_header(std::string_view log) {
  constexpr std::size_t kTail = 4096;
  if (log.size() > kTail) log = log.substr(log.size() - kTail);
  return util::base64_encode(log);
}

}  // namespace lambdad::logs
