#pragma once

// The tiersync configuration: one YAML file per district, plus the playbook it names.
// Relative paths in it are resolved against the directory of the file that contains them.
// Secrets never appear here; they are read from files named by *_file keys.

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "connectors/csv/csv_source.h"
#include "connectors/edfi/edfi_xml_source.h"
#include "connectors/file/file_sink.h"
#include "connectors/http/http_client.h"
#include "connectors/synergy/import_sink.h"
#include "connectors/synergy/report_source.h"
#include "connectors/synergy/synergy_client.h"
#include "engine/tier_engine.h"

namespace tiersync {

using SourceConfig = std::variant<CsvSourceConfig, EdFiXmlSourceConfig, SynergyReportSourceConfig>;

// How to reach the district's Synergy server; shared by synergy_report sources and the
// synergy sink. The password is read from synergy.password_file at load time.
struct SynergyConnectionConfig {
  http::ClientSettings http;
  synergy::SessionSettings session;
};

struct DeliveryConfig {
  size_t batch_size = 200;
  int max_attempts = 8;            // then the entry becomes a dead letter
  int retry_base_seconds = 30;     // full-jitter backoff: random(0, min(cap, base * 2^attempt))
  int retry_cap_seconds = 3600;
};

// When `tiersync run` starts cycles, in the district's local time. Times are minutes after
// local midnight.
struct ScheduleConfig {
  int interval_minutes = 30;         // between incremental cycles during school hours
  int school_day_start_minute = 7 * 60;   // first incremental cycle
  int school_day_end_minute = 17 * 60;    // no incremental cycle starts at or after this
  int nightly_minute = 2 * 60;       // the nightly full reconciliation
  bool run_on_closed_days = false;   // also run on days no school calendar marks instructional
};

// The push endpoint for a district's own ETL.
struct PushConfig {
  std::string token_file;  // file holding the bearer token; empty disables the endpoint
  DateFormat date_format = DateFormat::kIso;
  size_t max_body_bytes = 16 * 1024 * 1024;
};

struct ServiceConfig {
  std::string listen_address = "127.0.0.1";
  int port = 8086;               // 0 picks a free port; see port_file
  std::string port_file;         // where the bound port is written at startup, if set
  ScheduleConfig schedule;
  PushConfig push;
};

struct Config {
  std::string path;  // the configuration file itself
  std::string district_name;
  std::string time_zone = "UTC";
  std::string store_path;
  EngineSettings engine;
  std::string playbook_path;
  std::vector<SourceConfig> sources;
  std::optional<FileSinkConfig> file_sink;
  std::optional<SynergyConnectionConfig> synergy;
  std::optional<SynergySinkConfig> synergy_sink;
  DeliveryConfig delivery;
  ServiceConfig service;
};

// Loads and validates the configuration at `path`. Every error names the file, the line,
// the key and what to change; the first error stops loading.
Result<Config> LoadConfig(const std::string& path);

// Loads a playbook file on its own (also used by LoadConfig).
Result<Playbook> LoadPlaybook(const std::string& path);

// Makes the source for `config`. A synergy_report source reads through `client` (which must
// then be non-null) and covers the dates in `plan`.
std::unique_ptr<Source> MakeSource(const SourceConfig& config, synergy::SynergyClient* client = nullptr,
                                   const SynergyReadPlan& plan = {});

}  // namespace tiersync
