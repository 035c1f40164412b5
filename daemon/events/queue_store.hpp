// The asynchronous invocation queue on disk (issue 14): one record per
// Event invocation acknowledged with 202, written durably (temp, fsync,
// rename, fsync of the directory) before the 202 is sent, rewritten after
// each attempt, and removed once the invocation succeeded, exhausted its
// retries or passed its maximum age. At start every record is run again:
// at least once, as on Lambda, with its request id and attempt count.
// <state>/events/<request id>.json. Blocking: call from the pool.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lambdad::events {

namespace fs = std::filesystem;

struct QueuedEvent {
  std::string request_id;                     // the 202's, kept for every attempt
  std::string function;                       // the function's name
  std::string qualifier;                      // "" unqualified, else a version or an alias
  std::string payload;
  std::optional<std::string> client_context;  // JSON, decoded
  int attempts = 0;                           // runs so far (approximateInvokeCount of the next is +1)
  std::int64_t accepted_ms = 0;               // epoch ms of the 202: the age counts from here
  std::int64_t due_ms = 0;                    // epoch ms before which it does not run again
};

class QueueStore {
 public:
  QueueStore(fs::path dir, fs::path tmp_dir) : dir_(std::move(dir)), tmp_(std::move(tmp_dir)) {}

  // Every record, oldest accepted first. A record that cannot be read is
  // moved aside to <dir>/unreadable/ and named in `notes`, never dropped.
  Result<std::vector<QueuedEvent>> load(std::vector<std::string>& notes);
  Result<void> put(QueuedEvent const& e);
  Result<void> remove(std::string const& request_id);

 private:
  fs::path path_of(std::string const& request_id) const;
  fs::path dir_, tmp_;
};

// A request id as the store names files by it: 36 characters of a UUID.
bool valid_request_id(std::string const& id);

}  // namespace lambdad::events
