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
