#include "connectors/synergy/report_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "base/digest.h"
#include "connectors/csv/csv_reader.h"

namespace tiersync {

const char* SynergyReportKindName(SynergyReportKind kind) {
  switch (kind) {
    case SynergyReportKind::kCalendar:
      return "calendar";
    case SynergyReportKind::kEnrollments:
      return "enrollments";
    case SynergyReportKind::kDailyAttendance:
      return "daily_attendance";
    case SynergyReportKind::kPeriodAttendance:
      return "period_attendance";
    case SynergyReportKind::kAbsenceCodes:
      break;
  }
  return "absence_codes";
}

const std::vector<std::string>& RequiredReportFields(SynergyReportKind kind) {
  static const std::vector<std::string> kPeriod = {"student_id", "date", "code", "period"};
  static const std::vector<std::string> kCodes = {"code", "type"};
  switch (kind) {
    case SynergyReportKind::kCalendar:
      return RequiredCsvFields(CsvKind::kCalendar);
    case SynergyReportKind::kEnrollments:
      return RequiredCsvFields(CsvKind::kEnrollments);
    case SynergyReportKind::kDailyAttendance:
      return RequiredCsvFields(CsvKind::kAttendance);
    case SynergyReportKind::kPeriodAttendance:
      return kPeriod;
    case SynergyReportKind::kAbsenceCodes:
      break;
  }
  return kCodes;
}

const std::vector<std::string>& OptionalReportFields(SynergyReportKind kind) {
  static const std::vector<std::string> kPeriod = {"school_id", "duration", "reason"};
  static const std::vector<std::string> kNone = {};
  switch (kind) {
    case SynergyReportKind::kCalendar:
      return OptionalCsvFields(CsvKind::kCalendar);
    case SynergyReportKind::kEnrollments:
      return OptionalCsvFields(CsvKind::kEnrollments);
    case SynergyReportKind::kDailyAttendance:
      return OptionalCsvFields(CsvKind::kAttendance);
    case SynergyReportKind::kPeriodAttendance:
      return kPeriod;
    case SynergyReportKind::kAbsenceCodes:
      break;
  }
  return kNone;
}

Error ToError(const synergy::SynergyError& error, const std::string& context) {
  std::string hint;
  switch (error.kind) {
    case synergy::ErrorKind::kAuthentication:
      hint = "; check synergy.user and the password in synergy.password_file";
      break;
    case synergy::ErrorKind::kConnect:
      hint = "; check synergy.url and that the server is up";
      break;
    default:
      break;
  }
  return Error{context + ": " + synergy::ErrorKindName(error.kind) + ": " + error.message + hint,
               error.NeedsOperator()};
}

namespace {

std::string MonthKey(Date date) { return date.ToString().substr(0, 7); }

Date FirstOfMonth(Date date) { return Date::FromYmd(date.year(), date.month(), 1); }

Date NextMonth(Date date) {
  return date.month() == 12 ? Date::FromYmd(date.year() + 1, 1, 1) : Date::FromYmd(date.year(), date.month() + 1, 1);
}

std::string FormatDate(Date date, DateFormat format) {
  if (format == DateFormat::kIso) return date.ToString();
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%02u/%02u/%04d", date.month(), date.day(), date.year());
  return buffer;
}

std::string Replace(std::string text, const std::string& placeholder, const std::string& value) {
  size_t position = 0;
  while ((position = text.find(placeholder, position)) != std::string::npos) {
    text.replace(position, placeholder.size(), value);
    position += value.size();
  }
  return text;
}

CsvKind CsvKindOf(SynergyReportKind kind) {
  switch (kind) {
    case SynergyReportKind::kCalendar:
      return CsvKind::kCalendar;
    case SynergyReportKind::kEnrollments:
      return CsvKind::kEnrollments;
    default:
      return CsvKind::kAttendance;
  }
}

// A stable text form of an attendance event, for month digests.
std::string EventText(const AttendanceEvent& event) {
  return event.student_id + "|" + event.school_id + "|" + event.date.ToString() + "|" + event.period + "|" +
         event.category + "|" + (event.duration ? std::to_string(*event.duration) : "-") + "|" + event.reason;
}

}  // namespace

SynergyReportSource::SynergyReportSource(SynergyReportSourceConfig config, synergy::SynergyClient& client,
                                         SynergyReadPlan plan)
    : config_(std::move(config)), client_(client), plan_(plan) {}

std::pair<Date, Date> SynergyReportSource::AttendanceWindow() const {
  SchoolYear year = plan_.year_start.YearOf(plan_.as_of);
  Date year_first = plan_.year_start.FirstDay(year);
  Date year_last = plan_.year_start.FirstDay(SchoolYear{year.start_year + 1}) - 1;
  if (plan_.full_year) return {year_first, year_last};

  // Whole months, so that replacing a month's origin never drops days outside the window.
  Date first = std::max(FirstOfMonth(plan_.as_of - config_.recent_days), year_first);
  Date last = std::min(NextMonth(plan_.as_of) - 1, year_last);
  return {first, last};
}

Result<std::string> SynergyReportSource::Fetch(const SynergyReportConfig& report) {
  auto [first, last] = AttendanceWindow();
  synergy::ReportRequest request;
  request.report_id = report.report_id;
  request.school = config_.school;
  request.year = config_.year;
  request.format = report.format;
  std::string school_year = std::to_string(plan_.year_start.YearOf(plan_.as_of).start_year);
  for (const auto& [property, pattern] : report.options) {
    std::string value = Replace(pattern, "{start_date}", FormatDate(first, report.date_format));
    value = Replace(value, "{end_date}", FormatDate(last, report.date_format));
    value = Replace(value, "{school_year}", school_year);
    request.options.push_back({property, value});
  }

  auto csv = client_.RunReport(request);
  if (!csv) {
    return ToError(csv.error(), "source '" + config_.name + "', " + SynergyReportKindName(report.kind) + " report " +
                                    report.report_id);
  }
  return std::move(*csv);
}

Result<std::map<std::string, std::string>> SynergyReportSource::ReadAbsenceCodes(const SynergyReportConfig& report) {
  auto csv = Fetch(report);
  if (!csv) return csv.error();

  std::string context = "source '" + config_.name + "', absence_codes report " + report.report_id;
  CsvReader reader(*csv);
  CsvRow row;
  std::map<std::string, std::string> types;
  if (!reader.Next(row)) return types;
  std::vector<std::string> header = UniqueHeaderNames(row.fields);
  auto column_of = [&](const std::string& field) -> std::optional<size_t> {
    auto mapped = report.columns.find(field);
    std::string wanted = mapped == report.columns.end() ? field : mapped->second;
    auto found = std::find(header.begin(), header.end(), wanted);
    if (found == header.end()) return std::nullopt;
    return static_cast<size_t>(found - header.begin());
  };
  auto code_column = column_of("code");
  auto type_column = column_of("type");
  if (!code_column || !type_column) {
    return Error{context + ": the columns mapped to code and type are not in the header; fix the columns of "
                           "sources." + config_.name + ".reports.absence_codes"};
  }
  while (reader.Next(row)) {
    if (row.fields.size() != header.size()) continue;
    std::string code = row.fields[*code_column];
    std::string type = row.fields[*type_column];
    if (!code.empty() && !type.empty()) types[code] = type;
  }
  return types;
}

Result<std::vector<Snapshot>> SynergyReportSource::ReadAttendance(const SynergyReportConfig& report,
                                                                  const std::map<std::string, std::string>& code_types,
                                                                  const std::string& codes_digest,
                                                                  const CursorLookup& stored_cursor) {
  std::string kind = SynergyReportKindName(report.kind);
  auto csv = Fetch(report);
  if (!csv) return csv.error();

  CsvSourceConfig parse_config{config_.name, CsvKind::kAttendance, {}, report.date_format, report.columns};
  std::string display = "report " + report.report_id;
  auto parsed = ParseCsvSnapshot(parse_config, "", display, *csv);
  if (!parsed) return Error{"source '" + config_.name + "': " + parsed.error().message};

  // One snapshot per month of the window, including empty months, so that events deleted
  // in Synergy disappear here too.
  auto [first, last] = AttendanceWindow();
  std::map<std::string, Snapshot> months;
  for (Date month = FirstOfMonth(first); month <= last; month = NextMonth(month)) {
    months[MonthKey(month)].origin = config_.name + ":" + kind + ":" + MonthKey(month);
  }
  Snapshot unreadable;
  unreadable.origin = config_.name + ":" + kind + ":unreadable";
  unreadable.rejected = std::move(parsed->rejected);

  for (auto& event : parsed->events) {
    // Synergy's reason codes count through their TYPE (EXC, UNE, TDY, ...). An unknown code
    // stays as it is, so the rules keep its events aside as unknown.
    auto type = code_types.find(event.category);
    if (type != code_types.end()) {
      event.reason = event.category;
      event.category = type->second;
    }
    auto month = months.find(MonthKey(event.date));
    if (event.date < first || event.date > last || month == months.end()) {
      unreadable.rejected.push_back({display, "date " + event.date.ToString() + " is outside the requested window " +
                                                  first.ToString() + ".." + last.ToString(),
                                     EventText(event)});
      continue;
    }
    month->second.events.push_back(std::move(event));
  }

  std::vector<Snapshot> snapshots;
  for (auto& [key, snapshot] : months) {
    std::vector<std::string> lines;
    for (const auto& event : snapshot.events) lines.push_back(EventText(event));
    std::sort(lines.begin(), lines.end());
    std::string text = codes_digest;
    for (const auto& line : lines) text += "\n" + line;
    snapshot.cursor = "sha256:" + Sha256Hex(text);
    if (stored_cursor(snapshot.origin) == snapshot.cursor) {
      Snapshot unchanged;
      unchanged.origin = snapshot.origin;
      unchanged.cursor = snapshot.cursor;
      unchanged.unchanged = true;
      snapshots.push_back(std::move(unchanged));
    } else {
      snapshots.push_back(std::move(snapshot));
    }
  }

  std::string rejected_text;
  for (const auto& rejected : unreadable.rejected) rejected_text += rejected.reason + "|" + rejected.raw + "\n";
  unreadable.cursor = "sha256:" + Sha256Hex(rejected_text);
  if (stored_cursor(unreadable.origin) == unreadable.cursor) unreadable.unchanged = true;
  if (unreadable.unchanged) unreadable.rejected.clear();
  snapshots.push_back(std::move(unreadable));
  return snapshots;
}

Result<std::vector<Snapshot>> SynergyReportSource::Read(const CursorLookup& stored_cursor) {
  auto [first, last] = AttendanceWindow();
  spdlog::info("source '{}': reading Synergy reports at {} for {} ({} to {})", config_.name, client_.display_url(),
               plan_.full_year ? "the whole school year" : "the recent window", first.ToString(), last.ToString());

  // Absence-reason codes first, because attendance rows are mapped through them.
  std::map<std::string, std::string> code_types;
  std::string codes_digest;
  for (const auto& report : config_.reports) {
    if (report.kind != SynergyReportKind::kAbsenceCodes) continue;
    auto codes = ReadAbsenceCodes(report);
    if (!codes) return codes.error();
    code_types = std::move(*codes);
    for (const auto& [code, type] : code_types) codes_digest += code + "=" + type + ";";
  }

  std::vector<Snapshot> snapshots;
  for (const auto& report : config_.reports) {
    if (report.kind == SynergyReportKind::kAbsenceCodes) continue;
    if (report.kind == SynergyReportKind::kDailyAttendance || report.kind == SynergyReportKind::kPeriodAttendance) {
      auto months = ReadAttendance(report, code_types, codes_digest, stored_cursor);
      if (!months) return months.error();
      for (auto& snapshot : *months) snapshots.push_back(std::move(snapshot));
      continue;
    }

    auto csv = Fetch(report);
    if (!csv) return csv.error();
    std::string origin = config_.name + ":" + SynergyReportKindName(report.kind);
    std::string cursor = ContentCursor(*csv);
    if (stored_cursor(origin) == cursor) {
      Snapshot unchanged;
      unchanged.origin = origin;
      unchanged.cursor = cursor;
      unchanged.unchanged = true;
      snapshots.push_back(std::move(unchanged));
      continue;
    }
    CsvSourceConfig parse_config{config_.name, CsvKindOf(report.kind), {}, report.date_format, report.columns};
    auto snapshot = ParseCsvSnapshot(parse_config, origin, "report " + report.report_id, *csv);
    if (!snapshot) return Error{"source '" + config_.name + "': " + snapshot.error().message};
    snapshot->cursor = cursor;
    snapshots.push_back(std::move(*snapshot));
  }
  return snapshots;
}

}  // namespace tiersync
