#pragma once

// CSV files of calendar days, enrollments or attendance events, with the district's own
// column names mapped in YAML to the fields below.
//
//   calendar:     school_id, date, [instructional_fraction]   (fraction defaults to 1)
//   enrollments:  student_id, school_id, entry_date, [exit_date], [grade]
//   attendance:   student_id, date, code, [school_id], [period], [duration], [reason]

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/source.h"

namespace tiersync {

enum class CsvKind { kCalendar, kEnrollments, kAttendance };
enum class DateFormat { kIso, kUs };  // YYYY-MM-DD, or MM/DD/YYYY as Synergy exports it

struct CsvSourceConfig {
  std::string name;
  CsvKind kind = CsvKind::kAttendance;
  std::vector<std::string> paths;
  DateFormat date_format = DateFormat::kIso;
  std::map<std::string, std::string> columns;  // field -> header name in the file
};

// The fields each kind needs and accepts, for validating a configuration.
const std::vector<std::string>& RequiredCsvFields(CsvKind kind);
const std::vector<std::string>& OptionalCsvFields(CsvKind kind);

std::optional<Date> ParseDate(std::string_view text, DateFormat format);

// Parses CSV text into a snapshot. Returns an error only when the header lacks a mapped
// column; bad rows become rejected records naming their line.
Result<Snapshot> ParseCsvSnapshot(const CsvSourceConfig& config, const std::string& origin,
                                  const std::string& display_path, std::string_view text);

class CsvSource : public Source {
 public:
  explicit CsvSource(CsvSourceConfig config) : config_(std::move(config)) {}
  const std::string& name() const override { return config_.name; }
  Result<std::vector<Snapshot>> Read(const CursorLookup& stored_cursor) override;
  Status ReadEach(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) override;

 private:
  Status ReadFiles(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply);

  CsvSourceConfig config_;
};

}  // namespace tiersync
