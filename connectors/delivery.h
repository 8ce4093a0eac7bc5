#pragma once

// Delivers due outbox entries through a sink in batches. A failed batch stays pending with
// full-jitter backoff, a random delay from 0 up to min(cap, base * 2^attempts). After
// `max_attempts` failures its entries become dead letters for an operator to inspect.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "connectors/sink.h"
#include "store/store.h"

namespace tiersync {

struct DeliveryPolicy {
  size_t batch_size = 200;
  int max_attempts = 8;
  int64_t retry_base_seconds = 30;
  int64_t retry_cap_seconds = 3600;
};

struct DeliveryStats {
  size_t delivered = 0;
  size_t failed = 0;       // entries whose batch failed and will be retried
  size_t dead_lettered = 0;
  size_t cancelled = 0;    // notices that failed the check right before delivery
  // Set when the sink failed in a way that needs an operator (Error::needs_operator):
  // delivery stopped there, and the batch stays pending without counting an attempt.
  std::optional<Error> stopped;
};

// Checks a notice right before it is sent; returns why it must not be, or nullopt.
using NoticeCheck = std::function<std::optional<std::string>(const OutboxEntry&)>;

// `now_unix` is the current time in seconds; `random_below(n)` returns a uniform value in
// [0, n). Both are parameters so tests control time and jitter. With `notice_check`, every
// notice in a batch is checked first, and one that fails is cancelled instead of sent.
DeliveryStats DeliverOutbox(Store& store, Sink& sink, const DeliveryPolicy& policy, int64_t now_unix,
                            const std::function<int64_t(int64_t)>& random_below,
                            const NoticeCheck& notice_check = {});

// The full-jitter delay before retry number `attempts` (1 for the first retry).
int64_t BackoffSeconds(const DeliveryPolicy& policy, int attempts, const std::function<int64_t(int64_t)>& random_below);

}  // namespace tiersync
