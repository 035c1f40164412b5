// The TOML configuration file: any bytes as the file `lambdad serve
// --config FILE` (and SIGHUP) reads are either settings or an error naming
// the problem; never a crash or an exception out of the reader.
#include "input.hpp"
#include "settings.hpp"

#include <unistd.h>

#include <fstream>

using namespace lambdad;

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static std::string const file = [] {
    char tmpl[] = "/tmp/lambdad-fuzz-settings-XXXXXX";
    int fd = ::mkstemp(tmpl);
    if (fd < 0) fuzz::violated("cannot make a file");
    ::close(fd);
    return std::string(tmpl);
  }();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<char const*>(data), static_cast<std::streamsize>(size));
  }
  try {
    auto got = reread_settings({"--config", file});
    if (!got && got.error().message().empty()) fuzz::violated("an error without a message");
  } catch (std::exception const& e) {
    __builtin_printf("exception: %s\n", e.what());
    fuzz::violated("an exception out of the settings reader");
  }
  return 0;
}
