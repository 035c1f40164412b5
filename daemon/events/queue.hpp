// The asynchronous invocation queue (Lambda's "How Lambda handles
// asynchronous invocations"): every Event invocation is on disk before its
// 202, runs at least once, is tried again after a function error (1 and 2
// minutes later by default, --event-retry-delay-ms), waits while throttled,
// and leaves the queue only once it succeeded, exhausted its retries or
// passed its maximum age; then its destination, if any, gets AWS's record.
// Survives kill -9: start() runs again whatever the store holds. On the
// io_context thread; disk work on the pool.
#pragma once

#include "delivery.hpp"
#include "queue_store.hpp"

#include "exec/invoker.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lambdad::events {

// The EventInvokeConfig that applies to an event (defaults: Lambda's).
struct Policy {
  int max_retries = 2;      // MaximumRetryAttempts
  int max_age_s = 21600;    // MaximumEventAgeInSeconds
  std::string on_success;   // destination ARNs; "" none
  std::string on_failure;
  std::string dead_letter;  // the version's DeadLetterConfig.TargetArn; "" none
};

// What an event runs, resolved again before each attempt (the function may
// have been updated, or deleted: then the reason it cannot run).
struct Resolved {
  exec::FunctionImage fn;
  Policy policy;
};

// A destination that is a Lambda function: its name and qualifier.
struct LambdaDestination {
  std::string function;
  std::string qualifier;
};

struct Hooks {
  std::function<std::variant<Resolved, std::string>(QueuedEvent const&)> resolve;
  // A destination ARN naming a Lambda function of this daemon, or nothing.
  std::function<std::optional<LambdaDestination>(std::string const& arn)> lambda_destination;
};

// One event as GET /_lambdad/events lists it.
struct Status {
  QueuedEvent event;
  bool running = false;
  bool throttled = false;
};

struct Depth {
  std::size_t queued = 0;   // waiting (for their time, or for room)
  std::size_t running = 0;
  std::int64_t oldest_accepted_ms = 0;  // 0 when empty
};

class Queue {
 public:
  Queue(boost::asio::io_context& ioc, boost::asio::thread_pool& pool, QueueStore store, exec::Invoker& invoker,
        Hooks hooks);
  ~Queue();
  Queue(Queue const&) = delete;
  Queue& operator=(Queue const&) = delete;

  // A failed event is tried again after this, then after twice this.
  void set_retry_delay(std::chrono::milliseconds d) { retry_delay_ = d; }
  // Where SQS, SNS and EventBridge destinations and dead-letter queues go.
  void set_delivery(DeliveryConfig d) { delivery_ = std::move(d); }
  // At start, before serving: every record the store holds is scheduled
  // (unreadable ones moved aside and named in `notes`). How many.
  Result<std::size_t> start(std::vector<std::string>& notes);
  // Writes `e` durably, then schedules it. The error when the write failed:
  // then nothing is queued.
  boost::asio::awaitable<Result<void>> accept(QueuedEvent e);
  // An invocation of `function` ended: one of its throttled events tries now.
  void finished(std::string const& function);
  // The daemon is stopping: no attempt starts; every record stays on disk.
  void stop();

  std::vector<Status> list(std::string const& function) const;
  std::map<std::string, Depth> depths() const;

 private:
  struct Entry {
    QueuedEvent event;
    bool running = false;
    bool throttled = false;
    bool woken = false;  // throttled, and told there is room: not told again
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  boost::asio::awaitable<void> run(std::string id);
  boost::asio::awaitable<void> attempts(std::string id);
  // Sleeps on the entry's timer until `until_ms` (or a wake-up); false when stopped.
  boost::asio::awaitable<bool> sleep(std::string const& id, std::int64_t until_ms);
  // After an attempt that ran: the event is done (false) or due again (true).
  boost::asio::awaitable<bool> settle(std::string id, Resolved const& r, exec::InvokeResult const& result);
  boost::asio::awaitable<bool> wait_for_room(std::string const& id, int& throttles, std::string const& reason);
  // The event is done: its destination (if any) gets the record, then it leaves the disk.
  boost::asio::awaitable<void> finish(QueuedEvent e, Resolved const& r, std::string condition,
                                      exec::InvokeResult const* last);
  boost::asio::awaitable<void> deliver(std::string destination, std::string record, bool success,
                                       std::string function_arn, std::string const& about);
  boost::asio::awaitable<void> dead_letter(QueuedEvent const& e, std::string target, std::string condition,
                                           exec::InvokeResult const* last);
  boost::asio::awaitable<void> forget(std::string id);
  boost::asio::awaitable<Result<void>> save(QueuedEvent e);
  void schedule(QueuedEvent e);

  boost::asio::io_context& ioc_;
  boost::asio::thread_pool& pool_;
  QueueStore store_;
  exec::Invoker& invoker_;
  Hooks hooks_;
  std::chrono::milliseconds retry_delay_{60000};
  DeliveryConfig delivery_;
  bool stopped_ = false;
  std::map<std::string, Entry> events_;                     // by request id
  // Throttled events by the function whose room they wait for ("" the daemon's), oldest first.
  std::map<std::string, std::deque<std::string>> waiting_;
};

// The record a destination gets (AWS's: version 1.0, timestamp,
// requestContext, requestPayload, responseContext, responsePayload).
// `last`: the final attempt's result, null when none ran.
std::string destination_record(QueuedEvent const& e, std::string const& function_arn, std::string const& condition,
                               exec::InvokeResult const* last, std::string const& executed_version);

std::int64_t now_ms();

}  // namespace lambdad::events
