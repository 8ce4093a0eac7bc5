#include "store/schema.h"

namespace tiersync {

// Dates are stored as days since 1970-01-01 and day amounts as integer units (10000 per
// day), matching base/date.h and base/units.h. Ids stay text as the district issues them.
const std::vector<std::string_view>& SchemaMigrations() {
  static const std::vector<std::string_view> kMigrations = {
      R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Each origin's change marker, written in the same transaction as the origin's rows.
CREATE TABLE source_cursor (
  origin     TEXT PRIMARY KEY,
  cursor     TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE calendar_day (
  school_id   TEXT NOT NULL,
  date        INTEGER NOT NULL,
  school_year INTEGER NOT NULL,
  units       INTEGER NOT NULL,
  origin      TEXT NOT NULL,
  PRIMARY KEY (school_id, date)
) WITHOUT ROWID;
CREATE INDEX calendar_day_origin ON calendar_day (origin);

CREATE TABLE session (
  school_id   TEXT NOT NULL,
  name        TEXT NOT NULL,
  school_year TEXT NOT NULL,
  begin_date  INTEGER NOT NULL,
  end_date    INTEGER NOT NULL,
  total_instructional_days INTEGER NOT NULL,
  origin      TEXT NOT NULL,
  PRIMARY KEY (school_id, name, school_year)
) WITHOUT ROWID;

CREATE TABLE enrollment (
  student_id  TEXT NOT NULL,
  school_id   TEXT NOT NULL,
  entry_date  INTEGER NOT NULL,
  exit_date   INTEGER,
  school_year INTEGER NOT NULL,
  grade       TEXT NOT NULL DEFAULT '',
  origin      TEXT NOT NULL,
  PRIMARY KEY (student_id, school_id, entry_date)
) WITHOUT ROWID;
CREATE INDEX enrollment_origin ON enrollment (origin);
CREATE INDEX enrollment_school_year ON enrollment (school_year, school_id);

-- The natural key follows Ed-Fi's StudentSchoolAttendanceEvent: a student can have two
-- events of different categories on one day, and both are kept.
CREATE TABLE attendance_event (
  student_id  TEXT NOT NULL,
  date        INTEGER NOT NULL,
  school_id   TEXT NOT NULL,
  period      TEXT NOT NULL,
  category    TEXT NOT NULL,
  school_year INTEGER NOT NULL,
  duration    INTEGER,
  reason      TEXT NOT NULL DEFAULT '',
  origin      TEXT NOT NULL,
  PRIMARY KEY (student_id, date, school_id, period, category)
) WITHOUT ROWID;
CREATE INDEX attendance_event_origin ON attendance_event (origin);
CREATE INDEX attendance_event_year ON attendance_event (school_year, student_id);

-- Records a source could not read, replaced whenever their origin is read again.
CREATE TABLE rejected_record (
  id        INTEGER PRIMARY KEY,
  origin    TEXT NOT NULL,
  location  TEXT NOT NULL,
  reason    TEXT NOT NULL,
  raw       TEXT NOT NULL
);
CREATE INDEX rejected_record_origin ON rejected_record (origin);

-- Students whose inputs changed and whose absences must be derived again. Rows are added
-- with the input change and removed with the recomputation, so a crash in between loses
-- nothing.
CREATE TABLE dirty_student (
  student_id  TEXT NOT NULL,
  school_year INTEGER NOT NULL,
  PRIMARY KEY (student_id, school_year)
) WITHOUT ROWID;

-- Derived: each student-day with an absence amount above zero.
CREATE TABLE absence_day (
  student_id  TEXT NOT NULL,
  school_year INTEGER NOT NULL,
  date        INTEGER NOT NULL,
  school_id   TEXT NOT NULL,
  amount      INTEGER NOT NULL,
  excused     INTEGER NOT NULL,
  unexcused   INTEGER NOT NULL,
  basis       TEXT NOT NULL,
  PRIMARY KEY (school_year, student_id, date)
) WITHOUT ROWID;

-- Derived: events that do not count, with the reason.
CREATE TABLE kept_aside_event (
  student_id  TEXT NOT NULL,
  school_year INTEGER NOT NULL,
  date        INTEGER NOT NULL,
  school_id   TEXT NOT NULL,
  period      TEXT NOT NULL,
  category    TEXT NOT NULL,
  reason      TEXT NOT NULL,
  detail      TEXT NOT NULL
);
CREATE INDEX kept_aside_event_student ON kept_aside_event (school_year, student_id);

-- Each student's tier at the last evaluation.
CREATE TABLE tier_state (
  student_id    TEXT NOT NULL,
  school_year   INTEGER NOT NULL,
  as_of         INTEGER NOT NULL,
  tier          INTEGER NOT NULL,
  school_id     TEXT NOT NULL,
  enrolled      INTEGER NOT NULL,
  absent        INTEGER NOT NULL,
  excused       INTEGER NOT NULL,
  unexcused     INTEGER NOT NULL,
  rules_version TEXT NOT NULL,
  PRIMARY KEY (school_year, student_id)
) WITHOUT ROWID;

-- Every tier change, with the day it happened, why, and the rules that decided it. A
-- change that a later correction removes is kept and marked superseded.
CREATE TABLE tier_change (
  id            INTEGER PRIMARY KEY,
  student_id    TEXT NOT NULL,
  school_year   INTEGER NOT NULL,
  change_date   INTEGER NOT NULL,
  from_tier     INTEGER NOT NULL,
  to_tier       INTEGER NOT NULL,
  occurrence    INTEGER NOT NULL,
  reason        TEXT NOT NULL,
  rules_version TEXT NOT NULL,
  recorded_as_of INTEGER NOT NULL,
  recorded_at   TEXT NOT NULL,
  superseded_at TEXT
);
CREATE UNIQUE INDEX tier_change_active ON tier_change
  (student_id, school_year, change_date, from_tier, to_tier) WHERE superseded_at IS NULL;
CREATE INDEX tier_change_student ON tier_change (school_year, student_id);

-- Actions waiting for delivery or delivered. status: pending, delivered, dead.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  tier_change_id  INTEGER NOT NULL REFERENCES tier_change (id),
  kind            TEXT NOT NULL,
  action_id       TEXT NOT NULL,
  role            TEXT NOT NULL,
  title           TEXT NOT NULL,
  notice_template TEXT NOT NULL,
  student_id      TEXT NOT NULL,
  school_id       TEXT NOT NULL,
  school_year     INTEGER NOT NULL,
  trigger_name    TEXT NOT NULL,
  from_tier       INTEGER NOT NULL,
  to_tier         INTEGER NOT NULL,
  change_date     INTEGER NOT NULL,
  due_date        INTEGER NOT NULL,
  reason          TEXT NOT NULL,
  rules_version   TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  remote_id       TEXT NOT NULL DEFAULT '',
  created_at      TEXT NOT NULL,
  delivered_at    TEXT
);
CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
)sql",
      R"sql(
-- Student-days whose attendance events changed while the student's enrollments and the
-- calendars did not, so only those days are derived again. A student in dirty_student is
-- derived whole and has no rows here.
CREATE TABLE dirty_day (
  school_year INTEGER NOT NULL,
  student_id  TEXT NOT NULL,
  date        INTEGER NOT NULL,
  PRIMARY KEY (school_year, student_id, date)
) WITHOUT ROWID;

-- The primary key starts with student_id, so it serves every per-student lookup this
-- index served; dropping it saves one index write per attendance event.
DROP INDEX attendance_event_year;

-- Replaces the (school_year, student_id) index, which it also serves.
CREATE INDEX kept_aside_event_day ON kept_aside_event (school_year, student_id, date);
DROP INDEX kept_aside_event_student;
)sql",
  };
  return kMigrations;
}

}  // namespace tiersync
