#pragma once

// Turns a student's attendance events into absence amounts per instructional day, and sets
// aside every event that cannot count, with the reason.
//
// Per student-day: daily events and the day's class-period roll-up combine by taking the
// largest amount, never by adding, and the result is capped at one day. Period roll-up
// (NMSA 22-12-9): absent from more than half of the scheduled periods is a full day, from
// some periods up to half is a half day. The unexcused share is rolled up on its own from
// the unexcused periods; the rest of the day's amount is excused.

#include <string>
#include <vector>

#include "rules/attendance_rules.h"
#include "rules/calendar.h"
#include "rules/records.h"

namespace tiersync {

enum class KeptAsideReason {
  kUnknownStudent,        // no enrollment anywhere for the student
  kUnknownCode,           // the attendance code is not in the rules
  kNoCalendar,            // the event's school has no instructional calendar
  kNonInstructionalDay,   // the date is not an instructional day at the school
  kOutsideEnrollment,     // the student is not enrolled at the school on that date
};

const char* KeptAsideReasonCode(KeptAsideReason reason);

struct KeptAsideEvent {
  AttendanceEvent event;
  KeptAsideReason reason;
  std::string detail;
};

struct AbsenceDay {
  Date date;
  std::string school_id;
  DayUnits amount = 0;     // 0 < amount <= the day's instructional share
  DayUnits excused = 0;    // excused + unexcused == amount
  DayUnits unexcused = 0;
  std::string basis;  // which event or roll-up decided the amount, for `explain`; not stored
};

struct StudentAbsences {
  std::vector<AbsenceDay> days;  // sorted by date, only days with an amount above zero
  std::vector<KeptAsideEvent> kept_aside;
};

// `enrollments` and `events` belong to one student. Events on days with zero amount
// (tardies, events in attendance) are counted nowhere and not kept aside.
StudentAbsences DeriveAbsences(const std::vector<Enrollment>& enrollments,
                               const std::vector<AttendanceEvent>& events,
                               const CalendarSet& calendars, const AttendanceRules& rules);

}  // namespace tiersync
