// A temporary directory for one test, removed (read-only trees included)
// when it goes out of scope.
#pragma once

#include "util/fsutil.hpp"

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace lambdad::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string const& tag = "lambdad-test") {
    std::string tmpl = "/tmp/" + tag + "-XXXXXX";
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { (void)util::remove_tree(path); }
  TempDir(TempDir const&) = delete;
  TempDir& operator=(TempDir const&) = delete;
};

}  // namespace lambdad::test
