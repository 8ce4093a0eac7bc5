#pragma once

// The tier engine's pass that derives many students' absences from a school year's events.
//
// Two threads each read half of the year's dates through connections of their own and
// derive each student-day. The calling thread writes what they derive, so the reading,
// deriving and writing run on both cores at once. A store without a write-ahead log cannot
// be read by other connections while it writes, and is read on the calling thread.

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

// Calls `visit` once per student-day with the events from `first` to `last`, both included,
// in date order and each date's students in id order (Store::VisitStudentDays).
using StudentDayReader = std::function<void(Date first, Date last,
                                            const std::function<void(std::vector<AttendanceEvent>&)>& visit)>;

struct DerivePassInput {
  std::string store_path;
  // When set, the pass reads through this on the calling thread and starts no thread.
  StudentDayReader read_here;
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
