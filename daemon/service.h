#pragma once

// `tiersync run`: the long-running service. The main thread runs the Boost.Asio loop with
// signals, the schedule, the HTTP endpoints and systemd notifications. Cycles run one at a
// time on a cycle thread, and pushed batches are stored on an ingest thread. Each of the
// three threads has its own connection to the store.

#include <optional>
#include <string>

namespace tiersync {

struct ServiceOptions {
  std::string config_path;
  // Evaluate tiers at this date instead of the district's today (replaying a past school
  // year); YYYY-MM-DD.
  std::optional<std::string> as_of;
};

// Runs until SIGTERM or SIGINT. Returns the exit status: 0 after a clean stop, 1 when the
// service could not start (store, listen address), 2 for an invalid configuration.
int RunService(const ServiceOptions& options);

}  // namespace tiersync
