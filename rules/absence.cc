#include "rules/absence.h"

#include <algorithm>
#include <map>
#include <set>

namespace tiersync {

const char* KeptAsideReasonCode(KeptAsideReason reason) {
  switch (reason) {
    case KeptAsideReason::kUnknownStudent:
      return "unknown_student";
    case KeptAsideReason::kUnknownCode:
      return "unknown_code";
    case KeptAsideReason::kNoCalendar:
      return "no_calendar";
    case KeptAsideReason::kNonInstructionalDay:
      return "non_instructional_day";
    case KeptAsideReason::kOutsideEnrollment:
      return "outside_enrollment";
  }
  return "unknown";
}

namespace {

// An event that passed every check, with its amount under the rules.
struct CountedEvent {
  const AttendanceEvent* event;
  DayUnits amount;
  AbsenceBucket bucket;
};

// A candidate amount for one day, before the largest one is chosen.
struct Candidate {
  DayUnits amount = 0;
  DayUnits unexcused = 0;
  std::string basis;
};

DayUnits EventAmount(const AttendanceEvent& event, const AttendanceCode& code) {
  if (code.bucket == AbsenceBucket::kNone) return 0;
  DayUnits amount = code.default_amount;
  if (code.use_event_duration && event.duration) amount = *event.duration;
  return std::clamp<DayUnits>(amount, 0, kUnitsPerDay);
}

// Rolls up the sum of absent period shares (in day units, one period = kUnitsPerDay)
// against the scheduled periods.
DayUnits RollUpPeriods(DayUnits absent_period_units, int scheduled_periods) {
  if (absent_period_units <= 0) return 0;
  if (absent_period_units * 2 > static_cast<DayUnits>(scheduled_periods) * kUnitsPerDay) {
    return kUnitsPerDay;
  }
  return kUnitsPerDay / 2;
}

std::string DescribeEvent(const AttendanceEvent& event, DayUnits amount) {
  std::string text = NormalizeCode(event.category);
  if (!event.period.empty()) text += " in period " + event.period;
  return text + " (" + FormatDayUnits(amount) + " day)";
}

Candidate ChooseDay(const std::vector<CountedEvent>& day_events, int scheduled_periods) {
  Candidate best;
  bool best_is_excused = false;

  // Daily events: the largest wins; on a tie an excused event wins, because the school
  // recorded a reason for it.
  std::map<std::string, std::pair<DayUnits, DayUnits>> periods;  // period -> amount, unexcused
  for (const auto& counted : day_events) {
    if (!counted.event->period.empty()) {
      auto& [amount, unexcused] = periods[counted.event->period];
      // Several events for one period also combine by the largest amount.
      if (counted.amount > amount) {
        amount = counted.amount;
        unexcused = counted.bucket == AbsenceBucket::kUnexcused ? counted.amount : 0;
      }
      continue;
    }
    bool excused = counted.bucket == AbsenceBucket::kExcused;
    if (counted.amount > best.amount || (counted.amount == best.amount && excused && !best_is_excused)) {
      best.amount = counted.amount;
      best.unexcused = excused ? 0 : counted.amount;
      best.basis = "daily event " + DescribeEvent(*counted.event, counted.amount);
      best_is_excused = excused;
    }
  }

  if (!periods.empty()) {
    DayUnits absent_units = 0;
    DayUnits unexcused_units = 0;
    for (const auto& [period, amounts] : periods) {
      absent_units += amounts.first;
      unexcused_units += amounts.second;
    }
    Candidate rolled;
    rolled.amount = RollUpPeriods(absent_units, scheduled_periods);
    rolled.unexcused = std::min(rolled.amount, RollUpPeriods(unexcused_units, scheduled_periods));
    rolled.basis = "period roll-up: absent " + FormatDayUnits(absent_units) + " of " +
                   std::to_string(scheduled_periods) + " periods (" +
                   FormatDayUnits(unexcused_units) + " unexcused)";
    if (rolled.amount > best.amount) best = rolled;
  }
  return best;
}

}  // namespace

StudentAbsences DeriveAbsences(const std::vector<Enrollment>& enrollments,
                               const std::vector<AttendanceEvent>& events,
                               const CalendarSet& calendars, const AttendanceRules& rules) {
  StudentAbsences result;

  // Check every event, grouping the ones that count by (date, school).
  std::map<std::pair<Date, std::string>, std::vector<CountedEvent>> by_day;
  for (const auto& event : events) {
    auto keep_aside = [&](KeptAsideReason reason, std::string detail) {
      result.kept_aside.push_back({event, reason, std::move(detail)});
    };

    if (enrollments.empty()) {
      keep_aside(KeptAsideReason::kUnknownStudent,
                 "student " + event.student_id + " has no enrollment in the roster");
      continue;
    }
    const AttendanceCode* code = rules.FindCode(event.category);
    if (code == nullptr) {
      keep_aside(KeptAsideReason::kUnknownCode,
                 "attendance code '" + event.category + "' is not in rules.attendance_codes");
      continue;
    }

    const Enrollment* enrollment = EnrollmentOn(enrollments, event.date, event.school_id);
    std::string school_id = event.school_id.empty() && enrollment ? enrollment->school_id : event.school_id;
    const SchoolCalendar* calendar = calendars.Find(school_id);
    if (calendar == nullptr) {
      keep_aside(KeptAsideReason::kNoCalendar, "school " + school_id + " has no instructional calendar");
      continue;
    }
    if (!calendar->Find(event.date)) {
      keep_aside(KeptAsideReason::kNonInstructionalDay,
                 event.date.ToString() + " is not an instructional day at school " + school_id);
      continue;
    }
    if (enrollment == nullptr) {
      keep_aside(KeptAsideReason::kOutsideEnrollment,
                 "student " + event.student_id + " is not enrolled at school " + school_id + " on " +
                     event.date.ToString());
      continue;
    }

    DayUnits amount = EventAmount(event, *code);
    if (amount == 0) continue;
    by_day[{event.date, school_id}].push_back({&event, amount, code->bucket});
  }

  // Combine each day's events; a transfer day seen at two schools counts once, at the
  // larger amount.
  for (const auto& [key, day_events] : by_day) {
    const auto& [date, school_id] = key;
    Candidate chosen = ChooseDay(day_events, rules.PeriodsPerDay(school_id));
    if (chosen.amount == 0) continue;

    // A half instructional day can lose at most half a day.
    DayUnits share = calendars.Find(school_id)->Find(date).value_or(kUnitsPerDay);
    DayUnits amount = chosen.amount * share / kUnitsPerDay;
    DayUnits unexcused = chosen.unexcused * share / kUnitsPerDay;

    if (!result.days.empty() && result.days.back().date == date) {
      if (result.days.back().amount >= amount) continue;
      result.days.pop_back();
    }
    result.days.push_back({date, school_id, amount, amount - unexcused, unexcused, chosen.basis});
  }
  return result;
}

}  // namespace tiersync
