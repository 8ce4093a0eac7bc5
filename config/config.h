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
#include "engine/tier_engine.h"

namespace tiersync {

using SourceConfig = std::variant<CsvSourceConfig, EdFiXmlSourceConfig>;

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
  DeliveryConfig delivery;
};

// Loads and validates the configuration at `path`. Every error names the file, the line,
// the key and what to change; the first error stops loading.
Result<Config> LoadConfig(const std::string& path);

// Loads a playbook file on its own (also used by LoadConfig).
Result<Playbook> LoadPlaybook(const std::string& path);

std::unique_ptr<Source> MakeSource(const SourceConfig& config);

}  // namespace tiersync
