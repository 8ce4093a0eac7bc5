#pragma once

// Normalized records that every source produces and the store keeps. Identifiers are the
// district's own (SIS numbers, school codes) and stay text.

#include <optional>
#include <string>
#include <vector>

#include "base/date.h"
#include "base/units.h"

namespace tiersync {

// One day of a school's calendar. Only instructional days are stored; `instructional` is
// the share of a full day (kUnitsPerDay for a full day, half of it for a half day).
struct CalendarDay {
  std::string school_id;
  Date date;
  DayUnits instructional = kUnitsPerDay;
};

// A student's enrollment at a school. Both the entry date and the exit date are enrolled
// days; no exit date means still enrolled.
struct Enrollment {
  std::string student_id;
  std::string school_id;
  Date entry_date;
  std::optional<Date> exit_date;
  std::string grade;
};

// One attendance event as the source recorded it. `period` is empty for a daily
// (school-level) event and names the section or bell period for a class-period event.
// `category` is the source's own code, mapped to an absence amount by the rules.
struct AttendanceEvent {
  std::string student_id;
  std::string school_id;
  Date date;
  std::string period;
  std::string category;
  std::optional<DayUnits> duration;
  std::string reason;
};

// A student's family details from the SIS: the household groups siblings for notices, and
// the preferred language picks the notice template. Optional; a `students` source adds it.
struct StudentProfile {
  std::string student_id;
  std::string household_id;
  std::string preferred_language;  // a language code as the playbook's notices list them, e.g. "es"
  std::string grade;
};

// An Ed-Fi session (term) with its declared number of instructional days, used to
// cross-check the calendar.
struct Session {
  std::string school_id;
  std::string name;
  std::string school_year;
  Date begin_date;
  Date end_date;
  int total_instructional_days = 0;
};

// A record a source could not turn into one of the above, kept with the reason.
struct RejectedRecord {
  std::string location;  // file and line, or report and row
  std::string reason;    // what is wrong and what to do
  std::string raw;       // the record as read, for the data-quality report
};

// All records of one origin (a file, a report). Applying a snapshot replaces the store's
// records from that origin, so records that disappear from the origin are removed.
struct Snapshot {
  std::string origin;
  std::string cursor;  // the origin's change marker (a content digest for files)
  bool unchanged = false;  // the cursor matches the stored one, so nothing below was read

  std::vector<CalendarDay> calendar_days;
  std::vector<Enrollment> enrollments;
  std::vector<AttendanceEvent> events;
  std::vector<Session> sessions;
  std::vector<StudentProfile> students;
  std::vector<RejectedRecord> rejected;

  size_t RecordCount() const {
    return calendar_days.size() + enrollments.size() + events.size() + sessions.size() + students.size();
  }
};

}  // namespace tiersync
