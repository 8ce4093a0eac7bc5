#include "connectors/synergy/synergy_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace tiersync::synergy {

namespace {

class SteadyClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  void Sleep(std::chrono::milliseconds duration) override { std::this_thread::sleep_for(duration); }
};

ErrorKind FromFailureKind(http::FailureKind kind) {
  switch (kind) {
    case http::FailureKind::kInvalidUrl:
      return ErrorKind::kInvalidUrl;
    case http::FailureKind::kConnect:
      return ErrorKind::kConnect;
    case http::FailureKind::kTlsVerify:
      return ErrorKind::kTlsVerify;
    case http::FailureKind::kTls:
      return ErrorKind::kTls;
    case http::FailureKind::kTimeout:
      return ErrorKind::kTimeout;
    case http::FailureKind::kTransport:
      break;
  }
  return ErrorKind::kTransport;
}

}  // namespace

Clock& SystemClock() {
  static SteadyClock clock;
  return clock;
}

SynergyClient::SynergyClient(SessionSettings settings, std::unique_ptr<http::Transport> transport, Clock& clock,
                             RandomBelow random_below)
    : settings_(std::move(settings)),
      transport_(std::move(transport)),
      clock_(clock),
      random_below_(std::move(random_below)) {}

std::chrono::milliseconds SynergyClient::BackoffDelay(int attempt) {
  int64_t ceiling = settings_.retry.base.count();
  for (int i = 1; i < attempt && ceiling < settings_.retry.cap.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, settings_.retry.cap.count());
  return std::chrono::milliseconds(ceiling <= 0 ? 0 : random_below_(ceiling + 1));
}

void SynergyClient::RememberCookies(const http::Response& response) {
  for (const std::string& header : response.HeaderValues("Set-Cookie")) {
    std::string pair = header.substr(0, header.find(';'));
    auto equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) continue;
    cookies_[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
}

SynergyResult<std::string> SynergyClient::CallOnce(const ServiceCall& call) {
  http::Request request = BuildRequest(settings_.protocol, settings_.credentials, call);

  // Without a session cookie this request is a login: keep logins apart by the interval.
  bool login = cookies_.empty();
  if (login) {
    if (last_login_) {
      auto since = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - *last_login_);
      if (since < settings_.min_login_interval) clock_.Sleep(settings_.min_login_interval - since);
    }
  } else {
    std::string cookie_header;
    for (const auto& [name, value] : cookies_) cookie_header += (cookie_header.empty() ? "" : "; ") + name + "=" + value;
    request.headers.emplace_back("Cookie", cookie_header);
  }

  auto sent_at = clock_.Now();
  http::HttpResult response = transport_->Send(request);
  // Only a request that reached the server counts as a login there.
  if (login && (response.ok() || response.error().request_sent)) {
    last_login_ = sent_at;
    ++logins_;
  }
  if (!response) {
    const http::Failure& failure = response.error();
    return SynergyError{FromFailureKind(failure.kind), call.handle + "/" + call.method + ": " + failure.message,
                        failure.request_sent};
  }
  RememberCookies(*response);

  auto result = ParseResponse(settings_.protocol, response->status, response->body);
  if (!result) {
    SynergyError error = result.error();
    if (error.kind == ErrorKind::kAuthentication || error.kind == ErrorKind::kLoginRefused) cookies_.clear();
    // A 5xx or an unreadable body after a complete request leaves its effect unknown.
    bool server_error = error.kind == ErrorKind::kHttpStatus && error.http_status >= 500;
    if (server_error || error.kind == ErrorKind::kMalformed) error.maybe_processed = true;
    error.message = call.handle + "/" + call.method + " at " + display_url() + ": " + error.message;
    return error;
  }
  return result;
}

SynergyResult<std::string> SynergyClient::Call(const ServiceCall& call, bool idempotent) {
  for (int attempt = 1;; ++attempt) {
    auto result = CallOnce(call);
    if (result) return result;

    const SynergyError& error = result.error();
    bool give_up = !error.Retryable() || attempt >= settings_.retry.max_attempts ||
                   (error.maybe_processed && !idempotent);
    if (give_up) {
      if (error.Retryable() && attempt >= settings_.retry.max_attempts && attempt > 1) {
        SynergyError final_error = error;
        final_error.message += " (gave up after " + std::to_string(attempt) + " attempts)";
        return final_error;
      }
      return error;
    }
    std::chrono::milliseconds delay = BackoffDelay(attempt);
    if (error.kind == ErrorKind::kLoginRefused) delay = std::max(delay, settings_.min_login_interval);
    spdlog::warn("Synergy call failed ({}): {}; retrying in {} ms (attempt {} of {})", ErrorKindName(error.kind),
                 error.message, delay.count(), attempt + 1, settings_.retry.max_attempts);
    clock_.Sleep(delay);
  }
}

SynergyResult<std::string> SynergyClient::RunJobOnce(const ReportRequest& request) {
  auto executed = Call({kReportsHandle, "ReportExecute", ReportExecuteParams(request)}, true);
  if (!executed) return executed.error();
  auto job_id = ParseJobId(*executed);
  if (!job_id) return job_id.error();

  auto started = clock_.Now();
  while (true) {
    clock_.Sleep(settings_.poll_interval);
    auto polled = Call({kReportsHandle, "ReportStatus", ReportStatusParams(*job_id)}, true);
    if (!polled) return polled.error();
    auto status = ParseJobStatus(*polled);
    if (!status) return status.error();
    if (status->state == JobState::kDone) break;
    if (status->state == JobState::kError) {
      return SynergyError{ErrorKind::kJobFailed,
                          "report " + request.report_id + " job " + *job_id + " ended in state " + status->text +
                              (status->message.empty() ? "" : ": " + status->message),
                          false};
    }
    if (clock_.Now() - started > settings_.report_timeout) {
      return SynergyError{ErrorKind::kJobTimeout,
                          "report " + request.report_id + " job " + *job_id + " is still " + status->text +
                              " after " + std::to_string(settings_.report_timeout.count()) +
                              " ms; raise synergy.report_timeout_seconds if the report is large",
                          false};
    }
  }

  auto fetched = Call({kReportsHandle, "ReportResult", ReportResultParams(*job_id, request.format)}, true);
  if (!fetched) return fetched.error();
  return ParseReportResult(*fetched, request.format);
}

SynergyResult<std::string> SynergyClient::RunReport(const ReportRequest& request) {
  for (int attempt = 1;; ++attempt) {
    auto result = RunJobOnce(request);
    if (result) return result;
    const SynergyError& error = result.error();
    bool job_level = error.kind == ErrorKind::kJobFailed || error.kind == ErrorKind::kJobTimeout ||
                     error.kind == ErrorKind::kMalformed;
    if (!job_level || attempt >= settings_.retry.max_attempts) return error;
    std::chrono::milliseconds delay = BackoffDelay(attempt);
    spdlog::warn("Synergy report {}: {}; starting the job again in {} ms (attempt {} of {})", request.report_id,
                 error.message, delay.count(), attempt + 1, settings_.retry.max_attempts);
    clock_.Sleep(delay);
  }
}

}  // namespace tiersync::synergy
