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

struct CycleOptions {
  // Read the whole school year from synergy_report sources (the nightly reconciliation).
  // A source that has never completed a full read for the school year does one anyway.
  bool full_reconciliation = false;
  // Time for Synergy polls, backoff and the login throttle; nullptr uses the real clock.
  synergy::Clock* clock = nullptr;
  // Uniform value in [0, n) for backoff jitter; empty uses a random device.
  std::function<int64_t(int64_t)> random_below;
  // Polled between steps (each source, the tier engine, delivery). When it returns true the
  // cycle stops before the next step. Each step commits on its own, so stopping there loses
  // nothing.
  std::function<bool()> stop_requested;
};

struct CycleSummary {
  Date as_of;
  bool full_reconciliation = false;  // some Synergy source read the whole school year
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

// Runs a cycle, applying each origin as soon as it is read. Returns an error when a source
// cannot be read or the store fails. A missing file or a CSV header without a mapped column
// is found before anything of that source is applied; a later read error leaves the
// source's earlier origins applied with their cursors. What earlier sources applied stays.
// `now_unix` drives delivery backoff.
// A source or sink failure that needs an operator (bad credentials, a rejected
// certificate, an unreachable server) ends the cycle with that error and loses nothing.
// Cursors stay, and outbox entries stay pending without counting an attempt.
Result<CycleSummary> RunCycle(const Config& config, Store& store, Date as_of, int64_t now_unix,
                              const CycleOptions& options = {});

// Today's date in `time_zone` (an IANA name such as America/Denver).
Date TodayIn(const std::string& time_zone);

std::string FormatSummary(const CycleSummary& summary, const Config& config);

}  // namespace tiersync
