#include "daemon/schedule.h"

#include <cstdlib>
#include <ctime>
#include <map>

namespace tiersync {

const char* CycleKindName(CycleKind kind) { return kind == CycleKind::kFull ? "full" : "incremental"; }

void UseTimeZone(const std::string& time_zone) {
  setenv("TZ", time_zone.c_str(), 1);
  tzset();
}

LocalTime ToLocal(int64_t unix_seconds) {
  std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  localtime_r(&time, &local);
  Date date = Date::FromYmd(local.tm_year + 1900, static_cast<unsigned>(local.tm_mon + 1),
                            static_cast<unsigned>(local.tm_mday));
  return {date, local.tm_hour * 60 + local.tm_min};
}

int64_t FromLocal(Date date, int minute) {
  std::tm local{};
  local.tm_year = date.year() - 1900;
  local.tm_mon = static_cast<int>(date.month()) - 1;
  local.tm_mday = static_cast<int>(date.day());
  local.tm_hour = minute / 60;
  local.tm_min = minute % 60;
  local.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&local));
}

PlannedCycle NextCycle(const ScheduleConfig& schedule, int64_t after_unix, const SchoolDayPredicate& runs_on) {
  constexpr int kSearchDays = 400;
  Date first_day = ToLocal(after_unix).date;

  for (int offset = 0; offset <= kSearchDays; ++offset) {
    Date day = first_day + offset;
    if (!schedule.run_on_closed_days && !runs_on(day)) continue;

    // Minute of the day -> kind, in order; the nightly slot overrides an incremental one.
    std::map<int, CycleKind> slots;
    for (int minute = schedule.school_day_start_minute; minute < schedule.school_day_end_minute;
         minute += schedule.interval_minutes) {
      slots[minute] = CycleKind::kIncremental;
    }
    slots[schedule.nightly_minute] = CycleKind::kFull;

    for (const auto& [minute, kind] : slots) {
      int64_t start = FromLocal(day, minute);
      if (start > after_unix) return {start, kind, day, minute, false};
    }
  }

  Date last_day = first_day + kSearchDays;
  return {FromLocal(last_day, schedule.nightly_minute), CycleKind::kFull, last_day, schedule.nightly_minute,
          true};
}

}  // namespace tiersync
