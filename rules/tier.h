#pragma once

// Tier classification and a student's tier timeline over a school year.
//
// Rate = absent / enrolled, compared exactly in integers against half-open intervals:
// Tier 1 below 5%, Tier 2 from 5% up to 10%, Tier 3 from 10% up to 20%, Tier 4 from 20%
// (with the default thresholds). Fewer days enrolled than the minimum stays Tier 1.

#include <string>
#include <vector>

#include "rules/absence.h"
#include "rules/attendance_rules.h"
#include "rules/calendar.h"

namespace tiersync {

int ClassifyTier(DayUnits absent, DayUnits enrolled, const AttendanceRules& rules);

// Totals for one student up to a date.
struct AttendanceTotals {
  DayUnits enrolled = 0;
  DayUnits absent = 0;
  DayUnits excused = 0;
  DayUnits unexcused = 0;
};

// A point where the student's tier changed, evaluated at the end of `date`.
struct TierChange {
  Date date;
  int from_tier = 1;
  int to_tier = 1;
  // How many times the same transition (to_tier, and whether it went up or down) happened
  // this school year up to and including this one: the first entry into Tier 2 is 1.
  int occurrence = 1;
  AttendanceTotals totals;  // at the end of `date`
};

struct TierTimeline {
  int tier = 1;                     // at the end of the last enrolled day up to as-of
  AttendanceTotals totals;          // up to and including as-of
  std::vector<TierChange> changes;  // in date order
};

// Walks the student's enrolled days in order, adding each day's absence (capped at the
// day's enrolled share) and classifying at the end of every day.
TierTimeline BuildTimeline(const std::vector<EnrolledDay>& enrolled_days,
                           const std::vector<AbsenceDay>& absence_days,
                           const AttendanceRules& rules);

// "absent 9 of 169 days enrolled (5.33%): Tier 2 starts at 5%".
std::string DescribeChange(const TierChange& change, const AttendanceRules& rules);

}  // namespace tiersync
