#pragma once

// Counters and gauges of a running service, rendered in the Prometheus text exposition
// format (version 0.0.4). Thread-safe: cycles, pushes and scrapes run on different threads.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "daemon/cycle.h"
#include "daemon/schedule.h"

namespace tiersync {

enum class CycleOutcome { kSucceeded, kFailed, kAbandoned };
const char* CycleOutcomeName(CycleOutcome outcome);

// The last cycle as /status, /readyz and `tiersync status` report it.
struct LastCycle {
  int64_t number = 0;  // 0 when no cycle has run since the service started
  CycleKind kind = CycleKind::kIncremental;
  CycleOutcome outcome = CycleOutcome::kSucceeded;
  std::string as_of;
  std::string started_at;    // UTC, YYYY-MM-DDTHH:MM:SSZ
  double duration_seconds = 0;
  std::string error;         // for a failed cycle
  std::string abandoned_before;
  size_t records_read = 0;
  size_t records_changed = 0;
  size_t tier_changes = 0;
  size_t actions_queued = 0;
  size_t delivered = 0;
  std::map<int, size_t> students_per_tier;
};

class Metrics {
 public:
  void RecordCycle(const LastCycle& cycle, const CycleSummary* summary);
  void RecordOverrun();
  void RecordPush(bool accepted, size_t stored, size_t rejected);
  void RecordReload(bool applied);

  LastCycle last_cycle() const;
  bool cycle_running() const;
  void set_cycle_running(bool running);

  // Renders every metric. `outbox` contains entry counts by status, read from the store at
  // scrape time, and `store_open` is false when that read failed.
  std::string RenderPrometheus(const std::map<std::string, int64_t>& outbox, bool store_open) const;

 private:
  mutable std::mutex mutex_;
  // Protected by mutex_.
  LastCycle last_cycle_;
  bool cycle_running_ = false;
  std::map<std::pair<std::string, std::string>, int64_t> cycles_;  // (kind, outcome) -> count
  int64_t overruns_ = 0;
  int64_t records_read_ = 0;
  int64_t records_changed_ = 0;
  int64_t records_rejected_ = 0;
  int64_t tier_changes_ = 0;
  int64_t actions_queued_ = 0;
  int64_t delivered_ = 0;
  int64_t delivery_retries_ = 0;
  int64_t dead_lettered_ = 0;
  double duration_sum_ = 0;
  int64_t duration_count_ = 0;
  int64_t last_success_unix_ = 0;
  std::map<std::string, int64_t> push_batches_;  // outcome -> count
  int64_t push_records_stored_ = 0;
  int64_t push_records_rejected_ = 0;
  std::map<std::string, int64_t> reloads_;  // outcome -> count
};

}  // namespace tiersync
