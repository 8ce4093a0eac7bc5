#pragma once

// The attendance rules a district configures: how each attendance code counts, tier
// thresholds, the minimum days enrolled, and period roll-up. Defaults follow the New Mexico
// Attendance for Success Act (NMSA 22-12A-2) and APS procedural directive PJ6.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/units.h"

namespace tiersync {

// Which of New Mexico's two reporting buckets an absence falls in; `kNone` is for codes
// that are not absences (tardy, early departure, in attendance, school activity).
enum class AbsenceBucket { kNone, kExcused, kUnexcused };

const char* BucketName(AbsenceBucket bucket);

struct AttendanceCode {
  AbsenceBucket bucket = AbsenceBucket::kNone;
  // Amount counted when the event carries no duration (1 day, 0.5 day, 0).
  DayUnits default_amount = 0;
  // When true, an event's own duration (Ed-Fi EventDuration) overrides the default.
  bool use_event_duration = true;
};

// A tier's lower bound as a percentage with up to four decimals, stored exactly as
// percent * kUnitsPerDay (5% is 50000).
struct TierThreshold {
  int tier = 1;
  DayUnits from_percent_units = 0;
};

struct AttendanceRules {
  std::string version;

  // Keys are compared after NormalizeCode: an Ed-Fi descriptor URI loses everything up to
  // '#', and case and surrounding spaces are ignored.
  std::map<std::string, AttendanceCode> codes;

  // Ascending by from_percent_units, starting at tier 2; below the first is tier 1.
  std::vector<TierThreshold> thresholds;

  // Students with fewer days enrolled than this stay in tier 1.
  DayUnits min_enrolled_units = 10 * kUnitsPerDay;

  // Scheduled class periods per day, for rolling period attendance up to a day.
  int default_periods_per_day = 7;
  std::map<std::string, int> periods_per_day_by_school;

  int PeriodsPerDay(const std::string& school_id) const;
  const AttendanceCode* FindCode(const std::string& category) const;

  // The defaults described at the top of this file, with Ed-Fi's category descriptors.
  static AttendanceRules Defaults();
};

// "uri://ed-fi.org/AttendanceEventCategoryDescriptor#Excused Absence" -> "excused absence".
std::string NormalizeCode(const std::string& category);

}  // namespace tiersync
