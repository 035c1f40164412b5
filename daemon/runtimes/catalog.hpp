// The runtime catalog: every runtime identifier lambdad accepts, and what an
// environment of it needs (the interpreter, the client bound at
// /var/runtime and its entry point, the environment variables AWS sets for
// it). Data, in one place; the interpreter of each managed runtime is
// found once, at start (a configured path, else the closest on PATH).
// AWS's values: "Defined runtime environment variables" and "Lambda
// runtimes" in the developer guide, and the environment AWS-recorded in
// LocalStack's introspection snapshots (aws-contract-wave2.md section 6).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::runtimes {

enum class Family { provided, python, nodejs };

struct RuntimeSpec {
  std::string id;        // "python3.12"
  Family family = Family::provided;
  std::string version;   // "3.12", "20"; "" for provided
  std::vector<std::string> interpreters;  // tried on PATH in order: "python3.12", "python3"
  std::string client;    // the client's directory under the runtimes dir ("python", "nodejs")
  std::string entry;     // its entry point, relative to /var/runtime ("bootstrap.py")
  // Variables AWS sets for this runtime, beside the common ones.
  std::map<std::string, std::string> env;
};

// Every identifier accepted (provided*, python3.9-3.14, nodejs18.x-24.x).
std::vector<RuntimeSpec> const& all();
RuntimeSpec const* find(std::string const& id);

// A managed runtime ready to run: its interpreter on the host (or in the
// --rootfs image) and the client directory.
struct Resolved {
  std::filesystem::path interpreter;   // as seen inside the environment
  std::string interpreter_version;     // "3.11.2", "v20.20.2"; "" if unknown
  bool version_mismatch = false;       // a python3.12 function run by Python 3.11
  std::filesystem::path client_dir;    // on the host: bound at /var/runtime
};

struct Availability {
  std::map<std::string, Resolved> ready;            // by runtime id
  std::map<std::string, std::string> unavailable;   // by runtime id: why
};

// Finds the interpreter of every managed runtime: `configured` (runtime id
// -> executable) first, else the spec's interpreters in `search_path`'s directories
// (inside `rootfs` when one is given), and the client under `clients_dir`.
Availability probe(std::map<std::string, std::string> const& configured, std::string const& search_path,
                   std::filesystem::path const& rootfs, std::filesystem::path const& clients_dir);

// The flags AWS's bootstrap starts the interpreter with, for the version
// that runs it: Node.js 20 and 22 without require(esm)
// (--no-experimental-require-module), 22 also without module-syntax
// detection (--no-experimental-detect-module); none for Python.
std::vector<std::string> interpreter_flags(RuntimeSpec const& spec, std::string const& interpreter_version);

// "python3.12 runs on Python 3.11.2 (/usr/bin/python3): the minor version
// differs" and the like, one line per runtime, for the log and doctor.
std::vector<std::string> describe(Availability const& a);

}  // namespace lambdad::runtimes
