#pragma once

// The tier engine's pass that derives many students' absences from a school year's events.
//
// Two threads each read half of the year's dates through connections of their own and
// derive each student-day. The calling thread writes what they derive, so the reading,
// deriving and writing run on both cores at once.

#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "rules/absence.h"
#include "rules/attendance_rules.h"
#include "rules/calendar.h"
#include "rules/records.h"

namespace tiersync {

struct DerivePassInput {
  std::string store_path;
  int school_year = 0;
  std::vector<Date> dates;  // the school year's dates with events, ascending
  const std::map<std::string, std::vector<Enrollment>>* enrollments = nullptr;  // the year's, by student
  const std::unordered_set<std::string>* only = nullptr;  // the students to derive; nullptr for all
  const CalendarSet* calendars = nullptr;
  const AttendanceRules* rules = nullptr;
};

struct DerivePassResult {
  std::vector<std::string> students;  // the students derived, sorted
  size_t kept_aside = 0;              // events kept aside among them
};

// Derives every student-day of `input.dates` from the committed events, and calls `write`
// on the calling thread with each one that has absence days or events kept aside. Throws
// the first error of a reading thread (sqlite::SqliteError) after both have stopped.
DerivePassResult DeriveStudentDays(const DerivePassInput& input,
                                   const std::function<void(const std::string& student_id,
                                                            const StudentAbsences& absences)>& write);

}  // namespace tiersync
