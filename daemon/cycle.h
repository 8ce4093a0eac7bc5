#pragma once

// One pull-compute-deliver cycle: read every source into the store, run the tier engine at
// the as-of date, and deliver the outbox through the configured sink.

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "connectors/delivery.h"
#include "store/store.h"

namespace tiersync {

struct SourceSummary {
  std::string origin;
  ApplyStats stats;
};

struct CycleSummary {
  Date as_of;
  std::vector<SourceSummary> origins;
  EngineStats engine;
  DeliveryStats delivery;
  size_t kept_aside_total = 0;  // kept-aside events of the school year in the store
  size_t rejected_total = 0;    // records no source could read, in the store
  std::map<std::string, int64_t> outbox;  // entries by status after delivery
  // The step the cycle stopped before when a stop was requested (e.g. "tier engine");
  // empty when the cycle ran to the end. Every step before it committed.
  std::string abandoned_before;

  size_t RecordsRead() const;
  size_t RecordsChanged() const;
};

struct CycleOptions {
  // Re-read every origin even when its cursor has not moved, and recompute every student of
  // the school year: the nightly reconciliation.
  bool full = false;
  // Polled between steps (each source, the tier engine, delivery). When it returns true the
  // cycle stops before the next step; each step commits on its own, so stopping there loses
  // nothing.
  std::function<bool()> stop_requested;
};

// Runs a cycle. Returns an error when a source cannot be read at all (nothing from that
// source is applied; what earlier sources applied stays, with their cursors) or the store
// fails. `now_unix` drives delivery backoff.
Result<CycleSummary> RunCycle(const Config& config, Store& store, Date as_of, int64_t now_unix,
                              const CycleOptions& options = {});

// Today's date in `time_zone` (an IANA name such as America/Denver).
Date TodayIn(const std::string& time_zone);

std::string FormatSummary(const CycleSummary& summary, const Config& config);

}  // namespace tiersync
