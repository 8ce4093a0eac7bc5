#include "tests/support/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "engine/tier_engine.h"

namespace tiersync::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tiersync-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string SourcePath(const std::string& relative) { return std::string(TIERSYNC_SOURCE_DIR) + "/" + relative; }

std::string TiersyncBinary() { return TIERSYNC_BINARY; }

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string WriteGrandBendConfig(const TempDir& dir, const std::string& extra_sources) {
  std::string data = SourcePath("data/grand-bend");
  std::string config = R"(district:
  name: Grand Bend ISD
  time_zone: America/Chicago
store:
  path: )" + dir.File("tiersync.db") + R"(
rules:
  version: "test-1"
  attendance_codes:
    "Excused Absence":   { counts_as: excused, amount: 1 }
    "Unexcused Absence": { counts_as: unexcused, amount: 1 }
    "Partial":           { counts_as: unexcused, amount: 0.5 }
    "Tardy":             { counts_as: not_absent }
    "Early departure":   { counts_as: not_absent }
    "In Attendance":     { counts_as: not_absent }
playbook: )" + SourcePath("config/playbook.yaml") + R"(
sources:
  - name: calendar
    type: csv
    kind: calendar
    paths: [)" + data + R"(/calendar.csv]
  - name: enrollments
    type: csv
    kind: enrollments
    paths: [)" + data + R"(/enrollments.csv]
  - name: edfi
    type: edfi_xml
    paths:
      - )" + data + R"(/EducationOrgCalendar.xml
      - )" + data + R"(/StudentSchoolAttendance.xml
      - )" + data + R"(/StudentSectionAttendance-Tardy.xml
)" + extra_sources + R"(sink:
  type: file
  directory: )" + dir.File("out") + "\n";
  std::string path = dir.File("tiersync.yaml");
  WriteText(path, config);
  return path;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::vector<std::string> TierStateRows(Store& store, const Config& config, bool with_plan) {
  std::vector<std::string> rows;
  TierEngine engine(store, config.engine);
  auto years = store.db().Prepare("SELECT DISTINCT school_year FROM tier_state ORDER BY school_year");
  while (years.Step()) {
    int school_year = static_cast<int>(years.Int(0));
    for (const auto& row : engine.TierStates(school_year)) {
      std::string line = row.student_id + "|" + std::to_string(school_year) + "|" + row.as_of.ToString() + "|" +
                         std::to_string(row.tier) + "|" + row.school_id + "|" +
                         std::to_string(row.totals.enrolled) + "|" + std::to_string(row.totals.absent) + "|" +
                         std::to_string(row.totals.excused) + "|" + std::to_string(row.totals.unexcused);
      if (with_plan) {
        line += "|" + std::to_string(row.recheck_on.days()) + "|" + row.accruing_school + "|" +
                store.LoadStoredAbsenceDays(school_year, row.student_id).value_or("(none)");
      }
      rows.push_back(std::move(line));
    }
  }
  return rows;
}

}  // namespace tiersync::testing
