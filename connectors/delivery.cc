#include "connectors/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tiersync {

int64_t BackoffSeconds(const DeliveryPolicy& policy, int attempts, const std::function<int64_t(int64_t)>& random_below) {
  int64_t ceiling = policy.retry_base_seconds;
  for (int i = 1; i < attempts && ceiling < policy.retry_cap_seconds; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.retry_cap_seconds);
  return random_below(ceiling + 1);
}

DeliveryStats DeliverOutbox(Store& store, Sink& sink, const DeliveryPolicy& policy, int64_t now_unix,
                            const std::function<int64_t(int64_t)>& random_below) {
  DeliveryStats stats;
  int64_t after_id = 0;
  while (true) {
    std::vector<OutboxEntry> due = store.DueOutbox(now_unix, policy.batch_size);
    // Skip entries that failed earlier in this call; they wait for their backoff.
    due.erase(std::remove_if(due.begin(), due.end(), [&](const OutboxEntry& entry) { return entry.id <= after_id; }),
              due.end());
    if (due.empty()) break;

    auto receipt = sink.Deliver(due);
    if (receipt) {
      std::vector<int64_t> ids;
      for (const auto& entry : due) ids.push_back(entry.id);
      store.MarkDelivered(ids, receipt->remote_id);
      stats.delivered += due.size();
      spdlog::info("delivered outbox entries {}..{} ({} entries) to sink {} as {}", due.front().id, due.back().id,
                   due.size(), sink.name(), receipt->remote_id);
      after_id = due.back().id;
      continue;
    }

    if (receipt.error().needs_operator) {
      stats.stopped = receipt.error();
      break;
    }

    // The batch failed as a whole: back off every entry in it and stop for this cycle.
    for (const auto& entry : due) {
      int attempts = entry.attempts + 1;
      bool dead = attempts >= policy.max_attempts;
      int64_t delay = dead ? 0 : BackoffSeconds(policy, attempts, random_below);
      store.MarkFailed(entry.id, receipt.error().message, now_unix + delay, dead);
      if (dead) {
        ++stats.dead_lettered;
      } else {
        ++stats.failed;
      }
    }
    spdlog::error("sink {} failed for outbox entries {}..{}: {}; they stay pending and are retried with backoff "
                  "(entries at {} attempts become dead letters)",
                  sink.name(), due.front().id, due.back().id, receipt.error().message, policy.max_attempts);
    break;
  }
  return stats;
}

}  // namespace tiersync
