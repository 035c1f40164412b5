// Test helper for test_eventstream_botocore.py: writes the event stream the
// encoder makes to stdout, for botocore's parser to read.
//
// stdin: records, each a u32 big-endian length and that many bytes: the
// writes of a streaming function. Each becomes PayloadChunk events, a write
// over kMaxChunk split into pieces of kMaxChunk (as the daemon's callers
// must), an empty write one empty chunk. Then the stream's end: an
// InvokeComplete with the members given by --error-code=, --error-details=,
// --log-result=, or with --exception-type= (and --exception-body=) an
// exception message instead.
// --max-chunk prints kMaxChunk and exits.
#include "api/eventstream.hpp"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace es = lambdad::api::eventstream;

namespace {

bool write_all(std::string const& bytes) {
  return std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size();
}

std::optional<std::string> option(std::string_view arg, std::string_view name) {
  if (arg.starts_with(name)) return std::string(arg.substr(name.size()));
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> error_code, error_details, log_result, exception_type;
  std::string exception_body = "{}";
  for (int i = 1; i < argc; ++i) {
    std::string_view const arg = argv[i];
    if (arg == "--max-chunk") {
      std::printf("%zu\n", es::kMaxChunk);
      return 0;
    }
    if (auto v = option(arg, "--error-code=")) error_code = v;
    else if (auto v = option(arg, "--error-details=")) error_details = v;
    else if (auto v = option(arg, "--log-result=")) log_result = v;
    else if (auto v = option(arg, "--exception-type=")) exception_type = v;
    else if (auto v = option(arg, "--exception-body=")) exception_body = *v;
    else {
      std::fprintf(stderr, "eventstream_frames: unknown argument %s\n", argv[i]);
      return 2;
    }
  }

  std::string const in{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  std::string_view rest = in;
  while (!rest.empty()) {
    if (rest.size() < 4) {
      std::fprintf(stderr, "eventstream_frames: a record's length is cut short\n");
      return 2;
    }
    std::size_t len = 0;
    for (int i = 0; i < 4; ++i) len = len << 8 | static_cast<unsigned char>(rest[i]);
    rest.remove_prefix(4);
    if (rest.size() < len) {
      std::fprintf(stderr, "eventstream_frames: a record of %zu bytes has %zu\n", len, rest.size());
      return 2;
    }
    std::string_view write = rest.substr(0, len);
    rest.remove_prefix(len);
    do {
      std::string_view const piece = write.substr(0, es::kMaxChunk);
      write.remove_prefix(piece.size());
      if (!write_all(es::payload_chunk(piece))) return 1;
    } while (!write.empty());
  }

  std::string const end = exception_type ? es::exception(*exception_type, exception_body)
                                         : es::invoke_complete(error_code, error_details, log_result);
  if (!write_all(end) || std::fflush(stdout) != 0) return 1;
  return 0;
}
