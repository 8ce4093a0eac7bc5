#pragma once

// Shared set-up for the Synergy integration tests: a simulator loaded with the Grand Bend
// sample, configurations that point tiersync at it, and a clock that never sleeps.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "connectors/synergy/synergy_client.h"
#include "tests/simulator/simulator.h"
#include "tests/support/test_support.h"

namespace tiersync::testing {

inline constexpr const char* kSimulatorPassword = "simulator-password";

// A clock whose Sleep only moves its own time forward, so polls and backoff cost nothing.
// The simulator's threads may read it while the client sleeps, so the time is atomic.
class FakeClock : public synergy::Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return now_.load(); }
  void Sleep(std::chrono::milliseconds duration) override {
    now_.store(now_.load() + duration);
    slept_ += duration;
  }
  std::chrono::milliseconds slept() const { return slept_; }

 private:
  std::atomic<std::chrono::steady_clock::time_point> now_{};
  std::chrono::milliseconds slept_{0};
};

struct SimulatorSetup {
  bool tls = true;
  std::string certificate = "server";  // or "wrong-host"
  bool load_grand_bend = true;
};

// Starts a simulator whose data set lives in `dir`.
std::unique_ptr<SynergySimulator> StartSimulator(const TempDir& dir, const SimulatorSetup& setup = {},
                                                 SimulatorOptions options = {});

struct SynergyConfigSetup {
  std::string url;
  std::string password = kSimulatorPassword;
  std::string protocol = "form";
  std::string store_name = "synergy.db";
  bool synergy_source = true;   // read from Synergy reports, else from the Grand Bend files
  bool synergy_sink = true;     // deliver through ImportData, else to files
  int request_timeout_ms = 5000;
  int max_attempts = 6;
  bool insecure_skip_verify = false;
  std::string extra_synergy;  // more keys for the synergy section, indented by two spaces
};

// Writes a configuration into `dir` and returns its path.
std::string WriteSynergyConfig(const TempDir& dir, const SynergyConfigSetup& setup);

}  // namespace tiersync::testing
