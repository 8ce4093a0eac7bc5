#pragma once

// A Synergy simulator for integration tests and the offline demo: an HTTP(S) server on
// 127.0.0.1 that speaks ProcessWebServiceRequest (form POST and SOAP 1.1) from its own
// SQLite data set. It runs report jobs (Revelation.Reports) over that data, records every
// ImportData row, and injects faults on demand.
//
// It is a test fixture, never a data path of the product. Beast stays inside
// simulator.cc, so tests that include this header compile quickly.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tiersync::testing {

enum class Fault {
  kNone,
  kLatency,               // process, then respond only after `latency`
  kRtError,               // respond with RT_ERROR without processing
  kHttp500,               // respond with HTTP 500 without processing
  kDropBeforeProcessing,  // close the connection without processing
  kDropAfterProcessing,   // process, then close without a response
  kTruncatedBody,         // process, then send half the body and close
  kStuckJob,              // ReportExecute: the job stays InProgress forever
  kRefuseLogin,           // reject the login and end the session
};

const char* FaultName(Fault fault);

struct SimulatorOptions {
  std::string db_path;  // the simulator's SQLite data set, created when missing
  bool tls = false;
  std::string cert_file;  // PEM certificate chain, for TLS
  std::string key_file;   // PEM private key, for TLS
  uint16_t port = 0;      // 0 picks a free port
  std::string user_id = "tiersync";
  std::string password = "simulator-password";
  // A second login by the same user within this interval is refused, as Synergy does.
  std::chrono::milliseconds min_login_interval{0};
  // The clock for that interval; tests share a fake clock with the client.
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
  int polls_until_done = 1;  // ReportStatus returns InProgress this many times first
  std::chrono::milliseconds latency{2000};
  // The ImportData attribute that contains the idempotency key, for the key-check report.
  std::string key_attribute = "IDEMPOTENCY_KEY";
};

// Random faults: each request gets one of `kinds` with `probability`.
struct FaultPlan {
  double probability = 0;
  std::vector<Fault> kinds;
  uint64_t seed = 1;
};

struct ImportRecord {
  int64_t sequence = 0;
  std::string element;
  std::string key;         // the key attribute's value
  std::string attributes;  // every attribute as name="value" pairs
};

class SynergySimulator {
 public:
  explicit SynergySimulator(SimulatorOptions options);
  ~SynergySimulator();
  SynergySimulator(const SynergySimulator&) = delete;
  SynergySimulator& operator=(const SynergySimulator&) = delete;

  // Listens on 127.0.0.1 and serves on background threads until Stop.
  void Start();
  void Stop();
  uint16_t port() const;
  std::string url() const;  // http(s)://127.0.0.1:port

  // Loads the Grand Bend sample (calendar, enrollments, daily and class-period events)
  // from `data_dir`, mapping Ed-Fi categories to Synergy reason codes.
  void LoadGrandBend(const std::string& data_dir);

  // Adds or replaces one daily attendance record; `fte` is the absent share ("1", "0.5").
  void SetDailyAttendance(const std::string& student_id, const std::string& school_id, const std::string& date,
                          const std::string& code, const std::string& fte);
  void DeleteDailyAttendance(const std::string& student_id, const std::string& date);

  void SetFaultPlan(FaultPlan plan);
  // The next request gets `fault`, before any random one. With `method`, the next request
  // for that method (e.g. "ImportData") gets it instead.
  void QueueFault(Fault fault, const std::string& method = "");

  std::vector<ImportRecord> Imports() const;
  int64_t requests() const;
  int64_t logins() const;
  int64_t rejected_logins() const;
  std::map<Fault, int64_t> faults_injected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiersync::testing
