#pragma once

// A Synergy web-service session: one keep-alive connection and one server session (its
// cookies) reused for every call, logins spaced by the server's minimum interval, and
// retries with full-jitter backoff. Report jobs (ReportExecute, ReportStatus polls,
// ReportResult) run on top of single calls.
//
// Time goes through a Clock, so tests run polls, backoff and the login throttle without
// sleeping. A client belongs to one thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "connectors/http/http_client.h"
#include "connectors/synergy/protocol.h"

namespace tiersync::synergy {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual void Sleep(std::chrono::milliseconds duration) = 0;
};

// The process's steady clock and real sleeps.
Clock& SystemClock();

// Full-jitter backoff: before retry n (1 for the first), wait a uniformly random time in
// [0, min(cap, base * 2^(n-1))].
struct RetryPolicy {
  int max_attempts = 5;  // including the first try
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds cap{30000};
};

struct SessionSettings {
  Protocol protocol = Protocol::kForm;
  Credentials credentials;
  // Synergy refuses a second login by the same user within about 3 seconds.
  std::chrono::milliseconds min_login_interval{3000};
  RetryPolicy retry;
  std::chrono::milliseconds poll_interval{1000};     // between ReportStatus calls
  std::chrono::milliseconds report_timeout{600000};  // from ReportExecute to a done state
};

// Returns a uniform value in [0, n) for n > 0.
using RandomBelow = std::function<int64_t(int64_t)>;

class SynergyClient {
 public:
  SynergyClient(SessionSettings settings, std::unique_ptr<http::Transport> transport, Clock& clock,
                RandomBelow random_below);

  // Sends one call without retrying.
  SynergyResult<std::string> CallOnce(const ServiceCall& call);

  // Sends a call and retries what can heal. When `idempotent` is false, a failure after
  // which the server may have acted (maybe_processed) is returned at once, because only the
  // caller can check whether it took effect.
  SynergyResult<std::string> Call(const ServiceCall& call, bool idempotent);

  // Runs a report job to the end and returns its rows as CSV text with a header row. A job
  // that fails or stays unfinished past report_timeout is started again under the retry
  // policy.
  SynergyResult<std::string> RunReport(const ReportRequest& request);

  // The delay before retry number `attempt` (1 for the first retry).
  std::chrono::milliseconds BackoffDelay(int attempt);

  const std::string& display_url() const { return transport_->display_url(); }
  // How many requests went out without a session cookie (each one is a server login).
  int logins() const { return logins_; }

 private:
  SynergyResult<std::string> RunJobOnce(const ReportRequest& request);
  void RememberCookies(const http::Response& response);

  SessionSettings settings_;
  std::unique_ptr<http::Transport> transport_;
  Clock& clock_;
  RandomBelow random_below_;

  std::map<std::string, std::string> cookies_;  // the server session, by cookie name
  std::optional<std::chrono::steady_clock::time_point> last_login_;
  int logins_ = 0;
};

}  // namespace tiersync::synergy
