#pragma once

// When the service starts its cycles: incremental cycles every interval during school hours
// and a nightly full reconciliation, on the days a school calendar marks instructional.
// Everything here is a pure function of its inputs, so tests drive time without sleeping.

#include <cstdint>
#include <functional>
#include <string>

#include "base/date.h"
#include "config/config.h"

namespace tiersync {

enum class CycleKind {
  kIncremental,  // Synergy reports for recent days; other origins when their cursor moved
  kFull,         // the nightly reconciliation: Synergy reports for the whole school year
};

const char* CycleKindName(CycleKind kind);

struct PlannedCycle {
  int64_t start_unix = 0;  // UTC seconds
  CycleKind kind = CycleKind::kIncremental;
  Date local_date;         // the district's date at the start
  int local_minute = 0;    // minutes after the district's local midnight
  bool recheck_only = false;  // no cycle: wake up then and plan again
};

// Whether cycles run on a local date (an instructional day, or a day no calendar covers).
using SchoolDayPredicate = std::function<bool(Date)>;

// Sets the process time zone (the TZ variable) that ToLocal and FromLocal use. Call it from
// one thread only: the C library reads TZ without a lock.
void UseTimeZone(const std::string& time_zone);

struct LocalTime {
  Date date;
  int minute = 0;  // minutes after local midnight
};
LocalTime ToLocal(int64_t unix_seconds);

// UTC seconds at a local date and minute. A minute that the change to daylight saving time
// skips maps to the minute an hour later, as mktime resolves it.
int64_t FromLocal(Date date, int minute);

// Returns the first cycle that starts strictly after `after_unix`. Where an incremental slot
// and the nightly reconciliation fall on the same minute, the full cycle runs. Looks up to
// 400 days ahead. When no day in that range runs cycles, it returns a recheck_only entry at
// the nightly time of the 400th day, so the service plans again then.
PlannedCycle NextCycle(const ScheduleConfig& schedule, int64_t after_unix, const SchoolDayPredicate& runs_on);

}  // namespace tiersync
