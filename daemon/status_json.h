#pragma once

// JSON forms of the service state, shared by /status and `tiersync status`.

#include <map>
#include <optional>
#include <string>

#include "daemon/metrics.h"

namespace tiersync {

// The store's meta key for the last cycle, written by the service after each cycle.
inline constexpr const char* kLastCycleMetaKey = "service.last_cycle";

std::string LastCycleJson(const LastCycle& cycle);

// Parses what LastCycleJson wrote; nullopt for text it did not write.
std::optional<LastCycle> ParseLastCycleJson(const std::string& text);

// Everything /status reports, serialized.
struct ServiceStatus {
  std::string district;
  std::string config_path;
  std::string started_at;
  std::string state;  // "idle", "running a cycle", "stopping"
  LastCycle last_cycle;
  std::optional<std::string> next_cycle_at;  // UTC
  std::string next_cycle_kind;
  std::map<std::string, int64_t> outbox;
  bool push_enabled = false;
};
std::string ServiceStatusJson(const ServiceStatus& status);

}  // namespace tiersync
