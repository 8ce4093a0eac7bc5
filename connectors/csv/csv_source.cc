#include "connectors/csv/csv_source.h"

#include "connectors/csv/csv_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace tiersync {

const std::vector<std::string>& RequiredCsvFields(CsvKind kind) {
  static const std::vector<std::string> kCalendar = {"school_id", "date"};
  static const std::vector<std::string> kEnrollments = {"student_id", "school_id", "entry_date"};
  static const std::vector<std::string> kAttendance = {"student_id", "date", "code"};
  static const std::vector<std::string> kStudents = {"student_id"};
  switch (kind) {
    case CsvKind::kCalendar:
      return kCalendar;
    case CsvKind::kEnrollments:
      return kEnrollments;
    case CsvKind::kStudents:
      return kStudents;
    case CsvKind::kAttendance:
      break;
  }
  return kAttendance;
}

const std::vector<std::string>& OptionalCsvFields(CsvKind kind) {
  static const std::vector<std::string> kCalendar = {"instructional_fraction"};
  static const std::vector<std::string> kEnrollments = {"exit_date", "grade"};
  static const std::vector<std::string> kAttendance = {"school_id", "period", "duration", "reason"};
  static const std::vector<std::string> kStudents = {"household_id", "preferred_language", "grade"};
  switch (kind) {
    case CsvKind::kCalendar:
      return kCalendar;
    case CsvKind::kEnrollments:
      return kEnrollments;
    case CsvKind::kStudents:
      return kStudents;
    case CsvKind::kAttendance:
      break;
  }
  return kAttendance;
}

std::optional<Date> ParseDate(std::string_view text, DateFormat format) {
  if (format == DateFormat::kIso) return Date::Parse(text);
  // MM/DD/YYYY, with or without leading zeros.
  auto first = text.find('/');
  auto second = first == std::string_view::npos ? first : text.find('/', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto month = text.substr(0, first);
  auto day = text.substr(first + 1, second - first - 1);
  auto year = text.substr(second + 1);
  if (month.empty() || month.size() > 2 || day.empty() || day.size() > 2 || year.size() != 4) return std::nullopt;
  std::string iso = std::string(year) + "-" + (month.size() == 1 ? "0" : "") + std::string(month) + "-" +
                    (day.size() == 1 ? "0" : "") + std::string(day);
  return Date::Parse(iso);
}

namespace {

std::string Trim(std::string value) {
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  size_t start = 0;
  while (start < value.size() && (value[start] == ' ' || value[start] == '\t')) ++start;
  return value.substr(start);
}

std::string JoinRow(const std::vector<std::string>& fields) {
  std::string raw;
  for (size_t i = 0; i < fields.size(); ++i) raw += (i ? "," : "") + fields[i];
  return raw;
}

}  // namespace

Result<Snapshot> ParseCsvSnapshot(const CsvSourceConfig& config, const std::string& origin,
                                  const std::string& display_path, std::string_view text) {
  Snapshot snapshot;
  snapshot.origin = origin;
  CsvReader reader(text);
  CsvRow row;
  if (!reader.Next(row)) {
    if (!reader.error().empty()) return Error{display_path + ": " + reader.error()};
    return snapshot;  // an empty file contains no records
  }

  // Map each configured field to its column.
  std::vector<std::string> header = UniqueHeaderNames(row.fields);
  std::map<std::string, size_t> column_of;
  auto locate = [&](const std::string& field, bool required) -> Status {
    auto mapped = config.columns.find(field);
    std::string wanted = mapped == config.columns.end() ? field : mapped->second;
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == wanted) {
        column_of[field] = i;
        return {};
      }
    }
    if (!required && mapped == config.columns.end()) return {};
    std::string found;
    for (const auto& name : header) found += (found.empty() ? "" : ", ") + name;
    return Error{display_path + ": column '" + wanted + "' for field '" + field + "' of source '" + config.name +
                 "' is not in the header (found: " + found + "); fix sources." + config.name + ".columns." +
                 field + " in the configuration"};
  };
  for (const auto& field : RequiredCsvFields(config.kind)) {
    if (auto status = locate(field, true); !status) return status.error();
  }
  for (const auto& field : OptionalCsvFields(config.kind)) {
    if (auto status = locate(field, false); !status) return status.error();
  }

  auto get = [&](const std::string& field) -> std::string {
    auto found = column_of.find(field);
    if (found == column_of.end() || found->second >= row.fields.size()) return {};
    return Trim(row.fields[found->second]);
  };

  while (reader.Next(row)) {
    std::string location = display_path + ":" + std::to_string(row.line);
    auto reject = [&](const std::string& reason) {
      snapshot.rejected.push_back({location, reason, JoinRow(row.fields)});
    };
    if (row.fields.size() != header.size()) {
      reject("row has " + std::to_string(row.fields.size()) + " fields but the header has " +
             std::to_string(header.size()));
      continue;
    }
    auto date_field = [&](const std::string& field, std::optional<Date>& out) -> bool {
      std::string text = get(field);
      out = ParseDate(text, config.date_format);
      if (!out) {
        reject(field + " '" + text + "' is not a valid date (expected " +
               (config.date_format == DateFormat::kIso ? "YYYY-MM-DD" : "MM/DD/YYYY") + ")");
      }
      return out.has_value();
    };
    auto required_text = [&](const std::string& field, std::string& out) -> bool {
      out = get(field);
      if (out.empty()) reject(field + " is empty");
      return !out.empty();
    };

    if (config.kind == CsvKind::kCalendar) {
      CalendarDay day;
      std::optional<Date> date;
      if (!required_text("school_id", day.school_id) || !date_field("date", date)) continue;
      day.date = *date;
      std::string fraction = get("instructional_fraction");
      if (!fraction.empty()) {
        auto units = ParseDayUnits(fraction);
        if (!units || *units > kUnitsPerDay) {
          reject("instructional_fraction '" + fraction + "' is not a number from 0 to 1 with at most 4 decimals");
          continue;
        }
        day.instructional = *units;
      }
      if (day.instructional > 0) snapshot.calendar_days.push_back(std::move(day));
    } else if (config.kind == CsvKind::kEnrollments) {
      Enrollment enrollment;
      std::optional<Date> entry;
      if (!required_text("student_id", enrollment.student_id) || !required_text("school_id", enrollment.school_id) ||
          !date_field("entry_date", entry)) {
        continue;
      }
      enrollment.entry_date = *entry;
      if (!get("exit_date").empty()) {
        std::optional<Date> exit;
        if (!date_field("exit_date", exit)) continue;
        if (*exit < *entry) {
          reject("exit_date " + exit->ToString() + " is before entry_date " + entry->ToString());
          continue;
        }
        enrollment.exit_date = exit;
      }
      enrollment.grade = get("grade");
      snapshot.enrollments.push_back(std::move(enrollment));
    } else if (config.kind == CsvKind::kStudents) {
      StudentProfile profile;
      if (!required_text("student_id", profile.student_id)) continue;
      profile.household_id = get("household_id");
      profile.preferred_language = get("preferred_language");
      profile.grade = get("grade");
      snapshot.students.push_back(std::move(profile));
    } else {
      AttendanceEvent event;
      std::optional<Date> date;
      if (!required_text("student_id", event.student_id) || !date_field("date", date) ||
          !required_text("code", event.category)) {
        continue;
      }
      event.date = *date;
      event.school_id = get("school_id");
      event.period = get("period");
      event.reason = get("reason");
      std::string duration = get("duration");
      if (!duration.empty()) {
        auto units = ParseDayUnits(duration);
        if (!units || *units > kUnitsPerDay) {
          reject("duration '" + duration + "' is not a number from 0 to 1 with at most 4 decimals");
          continue;
        }
        event.duration = units;
      }
      snapshot.events.push_back(std::move(event));
    }
  }
  if (!reader.error().empty()) {
    snapshot.rejected.push_back({display_path, reader.error() + "; the rest of the file was not read", ""});
  }
  return snapshot;
}

Result<std::vector<Snapshot>> CsvSource::Read(const CursorLookup& stored_cursor) {
  std::vector<Snapshot> snapshots;
  // Reading everything first, ReadEach's up-front checks are not needed.
  auto status = ReadFiles(stored_cursor, [&](Snapshot&& snapshot) { snapshots.push_back(std::move(snapshot)); });
  if (!status) return status.error();
  return snapshots;
}

Status CsvSource::ReadEach(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) {
  CursorLookup lookup = FreezeCursors(config_.name, config_.paths, stored_cursor);

  // Check every file that will be read: it opens and its header maps every configured field.
  for (const auto& path : config_.paths) {
    if (UnchangedByStamp(path, lookup(config_.name + ":" + path))) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Error{"source '" + config_.name + "': cannot open " + path + ": " + std::strerror(errno) +
                   "; check the path in the configuration"};
    }
    std::string header;
    std::getline(in, header);
    if (!header.empty() && header.back() == '\r') header.pop_back();
    auto parsed = ParseCsvSnapshot(config_, config_.name + ":" + path, path, header);
    if (!parsed) return parsed.error();
  }
  return ReadFiles(lookup, apply);
}

Status CsvSource::ReadFiles(const CursorLookup& stored_cursor, const std::function<void(Snapshot&&)>& apply) {
  auto parse = [this](const std::string& origin, const std::string& path, const std::string& contents) {
    return ParseCsvSnapshot(config_, origin, path, contents);
  };
  return ReadSourceFiles(config_.name, config_.paths, stored_cursor, parse, apply);
}

}  // namespace tiersync
