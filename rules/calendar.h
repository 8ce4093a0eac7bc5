#pragma once

// Instructional calendars by school, and the days a student is enrolled.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/date.h"
#include "base/units.h"
#include "rules/records.h"

namespace tiersync {

struct InstructionalDay {
  Date date;
  DayUnits units = kUnitsPerDay;
};

// One school's instructional days, sorted by date.
class SchoolCalendar {
 public:
  void Add(Date date, DayUnits units);
  void Sort();

  // Returns the day's instructional share, or nullopt when `date` is not an instructional day.
  std::optional<DayUnits> Find(Date date) const;
  // Instructional days d with first <= d <= last, in order.
  std::pair<const InstructionalDay*, const InstructionalDay*> Range(Date first, Date last) const;
  // The `count`-th instructional day after `date` (count >= 1), or nullopt when the
  // calendar ends first.
  std::optional<Date> NthDayAfter(Date date, int count) const;
  const std::vector<InstructionalDay>& days() const { return days_; }

 private:
  std::vector<InstructionalDay> days_;
};

class CalendarSet {
 public:
  SchoolCalendar& For(const std::string& school_id) { return by_school_[school_id]; }
  const SchoolCalendar* Find(const std::string& school_id) const;
  void SortAll();

 private:
  std::map<std::string, SchoolCalendar> by_school_;
};

// A day counted toward days enrolled: an instructional day of the enrolling school that
// falls inside an enrollment.
struct EnrolledDay {
  Date date;
  std::string school_id;
  DayUnits units = kUnitsPerDay;
};

// Returns the student's enrolled days up to and including `as_of`, one per date, sorted.
// When two enrollments cover the same date (a transfer on that day), the date counts once,
// for the enrollment that started later.
std::vector<EnrolledDay> EnrolledDays(const std::vector<Enrollment>& enrollments,
                                      const CalendarSet& calendars, Date as_of);

// Returns the enrollment covering `date` (the latest entry when several do), or nullptr.
const Enrollment* EnrollmentOn(const std::vector<Enrollment>& enrollments, Date date,
                               const std::string& school_id = {});

}  // namespace tiersync
