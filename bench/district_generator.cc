#include "bench/district_generator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

namespace tiersync::bench {

namespace {

// SplitMix64's finalizer: a fixed, portable mixing function, so the generated district
// does not depend on the standard library's distributions.
uint64_t Mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

// A draw for (seed, student, day, purpose) as a 64-bit value.
uint64_t Draw(uint64_t seed, int student, int day, int purpose) {
  uint64_t value = Mix(seed);
  value = Mix(value ^ static_cast<uint64_t>(student));
  value = Mix(value ^ (static_cast<uint64_t>(day + 1) << 20));
  return Mix(value ^ static_cast<uint64_t>(purpose));
}

// The same draw as a number in [0, 1).
double Uniform(uint64_t seed, int student, int day, int purpose) {
  return static_cast<double>(Draw(seed, student, day, purpose) >> 11) * (1.0 / 9007199254740992.0);
}

// The `n`-th (1-based) `weekday` (ISO, 1 = Monday) of a month.
Date NthWeekday(int year, unsigned month, unsigned weekday, int n) {
  Date date = Date::FromYmd(year, month, 1);
  while (date.iso_weekday() != weekday) date = date + 1;
  return date + 7 * (n - 1);
}

std::set<Date> Holidays(int year) {
  std::set<Date> holidays;
  auto add_range = [&](Date first, Date last) {
    for (Date day = first; day <= last; day = day + 1) holidays.insert(day);
  };
  holidays.insert(NthWeekday(year, 9, 1, 1));   // Labor Day
  holidays.insert(NthWeekday(year, 10, 1, 2));  // fall holiday
  Date thanksgiving = NthWeekday(year, 11, 4, 4);
  add_range(thanksgiving - 1, thanksgiving + 1);
  add_range(Date::FromYmd(year, 12, 22), Date::FromYmd(year + 1, 1, 2));
  holidays.insert(NthWeekday(year + 1, 1, 1, 3));  // Martin Luther King Jr. Day
  holidays.insert(NthWeekday(year + 1, 2, 1, 3));  // Presidents' Day
  Date spring_break = NthWeekday(year + 1, 3, 1, 3);
  add_range(spring_break, spring_break + 4);
  return holidays;
}

constexpr int kInstructionalDays = 180;

// Purposes of the draws, so that no two decisions share a random value.
enum Purpose : int {
  kSchoolKind = 1,
  kSchoolPick,
  kPattern,
  kPatternDay,
  kTransferSchool,
  kBand,
  kWithinBand,
  kAbsent,
  kAbsenceKind,
  kPeriodCount,
  kPeriodStart,
  kPeriodExcused,
  kTardy,
};

Status WriteWhole(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return Error{"cannot write " + path + "; check the directory and free disk space"};
  return {};
}

Status MakeDirectory(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return Error{"cannot create " + path + ": " + error.message()};
  return {};
}

}  // namespace

District::District(DistrictSpec spec) : spec_(spec) {
  // The district calendar: weekdays from the second Wednesday of August, without holidays.
  std::set<Date> holidays = Holidays(spec_.school_year);
  for (Date day = NthWeekday(spec_.school_year, 8, 3, 2); static_cast<int>(days_.size()) < kInstructionalDays;
       day = day + 1) {
    if (day.iso_weekday() <= 5 && !holidays.count(day)) days_.push_back(day);
  }

  int school_count = std::max(2, (spec_.students + spec_.students_per_school - 1) / spec_.students_per_school);
  int elementary_count = std::max(1, school_count * 6 / 10);
  for (int i = 0; i < school_count; ++i) {
    School school;
    school.id = std::to_string(1001 + i);
    school.secondary = i >= elementary_count;
    // One school in four holds a teacher in-service day in September instead of class.
    if (i % 4 == 1) school.in_service_day = 20;
    schools_.push_back(std::move(school));
  }
  int secondary_count = school_count - elementary_count;

  const uint64_t seed = spec_.seed;
  const int last = kInstructionalDays - 1;
  students_.reserve(spec_.students);
  for (int k = 0; k < spec_.students; ++k) {
    GeneratedStudent student;
    student.student_id = std::to_string(2000001 + k);
    student.secondary = secondary_count > 0 && Uniform(seed, k, -1, kSchoolKind) < 0.45;
    int group_first = student.secondary ? elementary_count : 0;
    int group_size = student.secondary ? secondary_count : elementary_count;
    int school = group_first + static_cast<int>(Draw(seed, k, -1, kSchoolPick) % group_size);
    uint64_t grade_draw = Draw(seed, k, -1, kSchoolPick) >> 32;
    student.grade = student.secondary ? std::to_string(6 + grade_draw % 7)
                                      : (grade_draw % 6 == 0 ? "K" : std::to_string(grade_draw % 6));

    // Enrollment pattern: late entry, transfer, withdrawal, or the whole year.
    double pattern = Uniform(seed, k, -1, kPattern);
    uint64_t pattern_day = Draw(seed, k, -1, kPatternDay);
    if (pattern < 0.06) {
      student.spans.push_back({school, 5 + static_cast<int>(pattern_day % 115), last, false});
    } else if (pattern < 0.11) {
      int exit_day = 20 + static_cast<int>(pattern_day % 140);
      int other = school;
      if (group_size > 1) {
        other = group_first + static_cast<int>((school - group_first + 1 +
                                                Draw(seed, k, -1, kTransferSchool) % (group_size - 1)) %
                                               group_size);
      } else {
        other = (school + 1) % school_count;
      }
      student.spans.push_back({school, 0, exit_day, true});
      student.spans.push_back({other, exit_day + 1, last, false});
    } else if (pattern < 0.14) {
      student.spans.push_back({school, 0, 30 + static_cast<int>(pattern_day % 140), true});
    } else {
      student.spans.push_back({school, 0, last, false});
    }

    // Absence propensity by band, so that about a quarter of students end at 10% or more.
    double band = Uniform(seed, k, -1, kBand);
    double within = Uniform(seed, k, -1, kWithinBand);
    if (band < 0.60) {
      student.absence_probability = 0.045 * within;
    } else if (band < 0.74) {
      student.absence_probability = 0.05 + 0.045 * within;
    } else if (band < 0.93) {
      student.absence_probability = 0.105 + 0.085 * within;
    } else {
      student.absence_probability = 0.21 + 0.20 * within;
    }
    students_.push_back(std::move(student));
  }
}

bool District::SchoolHolds(int school, int day) const { return schools_[school].in_service_day != day; }

bool District::IsHalfDay(int day) const {
  // The day before Thanksgiving break, the last day before winter break, and the last day.
  Date date = days_[day];
  Date next = day + 1 < static_cast<int>(days_.size()) ? days_[day + 1] : date + 100;
  return next > date + 4 || day + 1 == static_cast<int>(days_.size());
}

void District::AppendDayRows(const GeneratedStudent& student, int day, std::string& out) const {
  const GeneratedStudent::Span* span = nullptr;
  for (const auto& candidate : student.spans) {
    if (candidate.first_day <= day && day <= candidate.last_day) span = &candidate;
  }
  if (span == nullptr) return;

  const uint64_t seed = spec_.seed;
  int k = static_cast<int>(&student - students_.data());
  const std::string& school_id = schools_[span->school].id;
  std::string date = days_[day].ToString();
  auto row = [&](const std::string& period, const char* code, const char* duration, const char* reason) {
    out.append(student.student_id).push_back(',');
    out.append(school_id).push_back(',');
    out.append(date).push_back(',');
    out.append(period).push_back(',');
    out.append(code).push_back(',');
    out.append(duration).push_back(',');
    out.append(reason).push_back('\n');
  };

  if (!SchoolHolds(span->school, day)) {
    // A few clerks record attendance on an in-service day; tiersync keeps these aside.
    if (k % 997 == 0) row("", "In Attendance", "", "");
    return;
  }

  if (Uniform(seed, k, day, kAbsent) >= student.absence_probability) {
    row("", Uniform(seed, k, day, kTardy) < 0.03 ? "Tardy" : "In Attendance", "", "");
    return;
  }

  double kind = Uniform(seed, k, day, kAbsenceKind);
  if (student.secondary && kind < 0.30) {
    // Present for the day, absent from some class periods.
    row("", "In Attendance", "", "");
    int periods = spec_.periods_per_day;
    int count = 1 + static_cast<int>(Draw(seed, k, day, kPeriodCount) % periods);
    int start = static_cast<int>(Draw(seed, k, day, kPeriodStart) % (periods - count + 1));
    bool excused = Uniform(seed, k, day, kPeriodExcused) < 0.4;
    for (int p = start; p < start + count; ++p) {
      row("P" + std::to_string(p + 1), excused ? "Excused Absence" : "Unexcused Absence", "",
          excused ? "Appointment" : "");
    }
  } else if (kind < 0.55) {
    row("", "Excused Absence", "", "Illness");
  } else if (kind < 0.88) {
    row("", "Unexcused Absence", "", "");
  } else {
    row("", "Partial", "0.5", "Left early");
  }
}

Result<std::string> District::WriteAttendanceDay(const std::string& directory, int day) const {
  if (auto status = MakeDirectory(directory + "/attendance"); !status) return status.error();
  std::string text = "student_id,school_id,date,period,code,duration,reason\n";
  text.reserve(static_cast<size_t>(students_.size()) * 48);
  for (const auto& student : students_) AppendDayRows(student, day, text);
  std::string path = directory + "/attendance/" + days_[day].ToString() + ".csv";
  if (auto status = WriteWhole(path, text); !status) return status.error();
  return path;
}

Result<std::vector<std::string>> District::WriteCsv(const std::string& directory, int attendance_days) const {
  if (auto status = MakeDirectory(directory); !status) return status.error();

  std::string calendar = "school_id,date,instructional_fraction\n";
  for (int school = 0; school < school_count(); ++school) {
    for (int day = 0; day < static_cast<int>(days_.size()); ++day) {
      if (!SchoolHolds(school, day)) continue;
      calendar += schools_[school].id + "," + days_[day].ToString() + (IsHalfDay(day) ? ",0.5\n" : ",1\n");
    }
  }
  if (auto status = WriteWhole(directory + "/calendar.csv", calendar); !status) return status.error();

  std::string enrollments = "student_id,school_id,entry_date,exit_date,grade\n";
  for (const auto& student : students_) {
    for (const auto& span : student.spans) {
      enrollments += student.student_id + "," + schools_[span.school].id + "," + days_[span.first_day].ToString() +
                     "," + (span.exited ? days_[span.last_day].ToString() : std::string()) + "," + student.grade +
                     "\n";
    }
  }
  if (auto status = WriteWhole(directory + "/enrollments.csv", enrollments); !status) return status.error();

  int count = attendance_days < 0 ? static_cast<int>(days_.size())
                                  : std::min(attendance_days, static_cast<int>(days_.size()));
  std::vector<std::string> paths;
  for (int day = 0; day < count; ++day) {
    auto path = WriteAttendanceDay(directory, day);
    if (!path) return path.error();
    paths.push_back(*path);
  }
  return paths;
}

Result<std::vector<std::string>> District::WriteEdFi(const std::string& directory) const {
  if (auto status = MakeDirectory(directory + "/edfi"); !status) return status.error();
  const char* kHeader =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<InterchangeStudentAttendance xmlns=\"http://ed-fi.org/5.2.0\">\n";
  const char* kCategory = "uri://ed-fi.org/AttendanceEventCategoryDescriptor#";
  std::string school_xml = kHeader;
  std::string section_xml = kHeader;

  std::string rows;
  for (const auto& student : students_) {
    for (int day = 0; day < static_cast<int>(days_.size()); ++day) {
      rows.clear();
      AppendDayRows(student, day, rows);
      // Each row: student_id,school_id,date,period,code,duration,reason (no commas inside).
      size_t start = 0;
      while (start < rows.size()) {
        size_t end = rows.find('\n', start);
        std::vector<std::string> fields;
        size_t field_start = start;
        for (size_t i = start; i <= end; ++i) {
          if (i == end || rows[i] == ',') {
            fields.push_back(rows.substr(field_start, i - field_start));
            field_start = i + 1;
          }
        }
        start = end + 1;
        const std::string& code = fields[4];
        if (code == "In Attendance") continue;
        std::string event = "    <AttendanceEvent>\n      <EventDate>" + fields[2] +
                            "</EventDate>\n      <AttendanceEventCategory>" + kCategory + code +
                            "</AttendanceEventCategory>\n";
        if (!fields[6].empty()) event += "      <AttendanceEventReason>" + fields[6] + "</AttendanceEventReason>\n";
        if (!fields[5].empty()) event += "      <EventDuration>" + fields[5] + "</EventDuration>\n";
        event += "    </AttendanceEvent>\n";
        std::string student_ref = "    <StudentReference><StudentIdentity><StudentUniqueId>" + fields[0] +
                                  "</StudentUniqueId></StudentIdentity></StudentReference>\n";
        std::string school_ref =
            "<SchoolReference><SchoolIdentity><SchoolId>" + fields[1] + "</SchoolId></SchoolIdentity></SchoolReference>";
        if (fields[3].empty()) {
          school_xml += "  <StudentSchoolAttendanceEvent>\n" + event + student_ref + "    " + school_ref +
                        "\n  </StudentSchoolAttendanceEvent>\n";
        } else {
          section_xml += "  <StudentSectionAttendanceEvent>\n" + event + student_ref +
                         "    <SectionReference><SectionIdentity><SectionIdentifier>" + fields[3] +
                         "</SectionIdentifier><CourseOfferingReference><CourseOfferingIdentity>" + school_ref +
                         "</CourseOfferingIdentity></CourseOfferingReference></SectionIdentity></SectionReference>\n"
                         "  </StudentSectionAttendanceEvent>\n";
        }
      }
    }
  }
  school_xml += "</InterchangeStudentAttendance>\n";
  section_xml += "</InterchangeStudentAttendance>\n";

  std::vector<std::string> paths = {directory + "/edfi/StudentSchoolAttendance.xml",
                                    directory + "/edfi/StudentSectionAttendance.xml"};
  if (auto status = WriteWhole(paths[0], school_xml); !status) return status.error();
  if (auto status = WriteWhole(paths[1], section_xml); !status) return status.error();
  return paths;
}

Result<std::string> WriteDistrictConfig(const std::string& directory, const std::string& playbook_path,
                                        const std::vector<std::string>& attendance_paths) {
  std::string yaml = R"yaml(# A synthetic district written by tiersync-district-gen; see bench/district_generator.h.
district:
  name: Synthetic district
  time_zone: America/Denver
store:
  path: tiersync.db
school_year:
  starts: "07-01"
rules:
  version: "bench-1"
  min_enrolled_days: 10
  tiers:
    - { tier: 2, from_percent: 5 }
    - { tier: 3, from_percent: 10 }
    - { tier: 4, from_percent: 20 }
  periods_per_day: 7
  attendance_codes:
    "Excused Absence":   { counts_as: excused, amount: 1 }
    "Unexcused Absence": { counts_as: unexcused, amount: 1 }
    "Partial":           { counts_as: unexcused, amount: 0.5 }
    "Tardy":             { counts_as: not_absent }
    "In Attendance":     { counts_as: not_absent }
)yaml";
  yaml += "playbook: " + std::filesystem::absolute(playbook_path).string() + "\n";
  yaml += R"yaml(sources:
  - name: calendar
    type: csv
    kind: calendar
    paths: [calendar.csv]
  - name: enrollments
    type: csv
    kind: enrollments
    paths: [enrollments.csv]
  - name: attendance
    type: csv
    kind: attendance
    paths:
)yaml";
  for (const auto& path : attendance_paths) {
    yaml += "      - " + std::filesystem::relative(path, directory).string() + "\n";
  }
  std::string path = directory + "/tiersync.yaml";
  if (auto status = WriteWhole(path, yaml); !status) return status.error();
  return path;
}

}  // namespace tiersync::bench
