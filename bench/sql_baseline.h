#pragma once

// The analyst's way to get every student's tier: one SQL statement that joins attendance
// events to enrollments and calendars and groups by student. It rolls class periods up the
// same way the rules do (more than half the periods = a full day, some = half a day) but
// knows only the Ed-Fi codes of the generated district, and writes nothing.

#include <map>

#include "base/date.h"
#include "store/sqlite.h"

namespace tiersync::bench {

// Returns the number of students in each tier at the end of `as_of`, by tier.
std::map<int, long> SqlBaselineTiers(sqlite::Database& db, int school_year, Date as_of, int periods_per_day);

}  // namespace tiersync::bench
