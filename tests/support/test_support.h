#pragma once

// Helpers shared by the tests: a temporary directory per test and paths into the source tree.

#include <string>
#include <vector>

#include "config/config.h"
#include "store/store.h"

namespace tiersync::testing {

// A fresh directory under the system temporary directory, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An absolute path into the source tree, e.g. SourcePath("data/grand-bend/calendar.csv").
std::string SourcePath(const std::string& relative);

// The tiersync binary built alongside the tests.
std::string TiersyncBinary();

void WriteText(const std::string& path, const std::string& text);
std::string ReadText(const std::string& path);

// Writes a configuration for the Grand Bend sample whose store and output live in `dir`.
// `extra_sources` is YAML appended to the sources list (already indented by two spaces).
std::string WriteGrandBendConfig(const TempDir& dir, const std::string& extra_sources = "");

// Runs a shell command and returns its exit status and standard output.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command);

// The store's tier states as of each school year's last run, one "a|b|c" line per row. A
// row that the runs since its date left steady is brought forward (TierEngine::TierStates),
// as a run that evaluates every student writes it. With `with_plan` each line adds the
// recheck date, the accruing school and the stored absence days.
std::vector<std::string> TierStateRows(Store& store, const Config& config, bool with_plan);

}  // namespace tiersync::testing
