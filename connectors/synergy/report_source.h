#pragma once

// Reads a district's Synergy report jobs (Revelation.Reports) into snapshots. Districts
// build the queries themselves, so each report's id, output format, option properties and
// column names come from YAML.
//
// Origins: the calendar, the enrollments and the absence-reason codes are each one origin,
// read whole every cycle. Attendance is split into one origin per calendar month
// ("<source>:daily_attendance:2021-10"). A day-to-day read requests the months that the
// recent window touches and replaces only those. A full read (the nightly reconciliation)
// requests the whole school year. Each month's cursor is a digest of its rows, so months
// that did not change are skipped and a late correction changes only its own month.

#include <map>
#include <string>
#include <vector>

#include "base/date.h"
#include "connectors/csv/csv_source.h"
#include "connectors/source.h"
#include "connectors/synergy/synergy_client.h"

namespace tiersync {

enum class SynergyReportKind { kCalendar, kEnrollments, kDailyAttendance, kPeriodAttendance, kAbsenceCodes };

const char* SynergyReportKindName(SynergyReportKind kind);

// The normalized fields a report kind maps, for validating `columns`.
const std::vector<std::string>& RequiredReportFields(SynergyReportKind kind);
const std::vector<std::string>& OptionalReportFields(SynergyReportKind kind);

struct SynergyReportConfig {
  SynergyReportKind kind = SynergyReportKind::kDailyAttendance;
  std::string report_id;
  synergy::ReportFormat format = synergy::ReportFormat::kCsv;
  DateFormat date_format = DateFormat::kUs;
  std::map<std::string, std::string> columns;  // field -> column heading in the report
  // OPTION PROPERTY -> value; values may use {start_date}, {end_date} (in date_format) and
  // {school_year} (the year the school year starts in).
  std::vector<std::pair<std::string, std::string>> options;
};

struct SynergyReportSourceConfig {
  std::string name;
  std::string school;  // the SCHOOL parameter; empty for all schools
  std::string year;    // the YEAR parameter; empty for the server's current year
  int recent_days = 14;
  std::vector<SynergyReportConfig> reports;
};

// The dates one read covers.
struct SynergyReadPlan {
  Date as_of;
  SchoolYearStart year_start;
  bool full_year = false;  // the nightly reconciliation
};

class SynergyReportSource : public Source {
 public:
  SynergyReportSource(SynergyReportSourceConfig config, synergy::SynergyClient& client, SynergyReadPlan plan);
  const std::string& name() const override { return config_.name; }
  Result<std::vector<Snapshot>> Read(const CursorLookup& stored_cursor) override;

  // Returns the first and last day the attendance reports are asked for.
  std::pair<Date, Date> AttendanceWindow() const;

 private:
  Result<std::string> Fetch(const SynergyReportConfig& report);
  Result<std::map<std::string, std::string>> ReadAbsenceCodes(const SynergyReportConfig& report);
  Result<std::vector<Snapshot>> ReadAttendance(const SynergyReportConfig& report,
                                               const std::map<std::string, std::string>& code_types,
                                               const std::string& codes_digest, const CursorLookup& stored_cursor);

  SynergyReportSourceConfig config_;
  synergy::SynergyClient& client_;
  SynergyReadPlan plan_;
};

// Turns an error from the Synergy client into a source error; failures that need an
// operator (credentials, certificate, an unreachable server) are marked so.
Error ToError(const synergy::SynergyError& error, const std::string& context);

}  // namespace tiersync
