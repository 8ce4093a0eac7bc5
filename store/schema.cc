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
      R"sql(
-- Family details from an optional `students` source, replaced whenever their origin is read.
CREATE TABLE student_profile (
  student_id         TEXT PRIMARY KEY,
  household_id       TEXT NOT NULL,
  preferred_language TEXT NOT NULL,
  grade              TEXT NOT NULL,
  origin             TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX student_profile_origin ON student_profile (origin);

-- Tasks that staff recorded as done; an open task past its due date escalates.
CREATE TABLE task_completion (
  idempotency_key TEXT PRIMARY KEY,
  completed_on    INTEGER NOT NULL,
  recorded_at     TEXT NOT NULL
) WITHOUT ROWID;

-- The outbox gains the playbook's decisions that are not tier changes (tier_change_id
-- becomes optional), the notice fields, and the states a notice passes before delivery:
-- held (excuse window, or waiting for the notice of the level below), awaiting_approval,
-- cancelled (no longer eligible) and merged (covered by a sibling's household notice).
CREATE TABLE outbox_v2 (
  id              INTEGER PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  tier_change_id  INTEGER REFERENCES tier_change (id),
  kind            TEXT NOT NULL,
  action_id       TEXT NOT NULL,
  role            TEXT NOT NULL,
  assignee        TEXT NOT NULL DEFAULT '',
  title           TEXT NOT NULL,
  notice_template TEXT NOT NULL,
  notice_level    INTEGER NOT NULL DEFAULT 0,
  basis           TEXT NOT NULL DEFAULT 'any_absence',
  language        TEXT NOT NULL DEFAULT '',
  body            TEXT NOT NULL DEFAULT '',
  student_id      TEXT NOT NULL,
  school_id       TEXT NOT NULL,
  household_id    TEXT NOT NULL DEFAULT '',
  household_students TEXT NOT NULL DEFAULT '',
  school_year     INTEGER NOT NULL,
  trigger_name    TEXT NOT NULL,
  trigger_parameters TEXT NOT NULL DEFAULT '',
  occurrence      INTEGER NOT NULL DEFAULT 1,
  from_tier       INTEGER NOT NULL,
  to_tier         INTEGER NOT NULL,
  change_date     INTEGER NOT NULL,
  due_date        INTEGER NOT NULL,
  hold_until      INTEGER NOT NULL DEFAULT 0,
  issued_on       INTEGER,
  reason          TEXT NOT NULL,
  rules_version   TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending',
  status_reason   TEXT NOT NULL DEFAULT '',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  remote_id       TEXT NOT NULL DEFAULT '',
  created_at      TEXT NOT NULL,
  delivered_at    TEXT
);
INSERT INTO outbox_v2 (id, idempotency_key, tier_change_id, kind, action_id, role, title, notice_template,
  student_id, school_id, school_year, trigger_name, trigger_parameters, from_tier, to_tier, change_date,
  due_date, hold_until, reason, rules_version, status, attempts, next_attempt_at, last_error, remote_id,
  created_at, delivered_at)
SELECT id, idempotency_key, tier_change_id, kind, action_id, role, title, notice_template, student_id,
  school_id, school_year, trigger_name,
  CASE trigger_name WHEN 'tier_entered' THEN to_tier ELSE from_tier END,
  from_tier, to_tier, change_date, due_date, change_date, reason, rules_version, status, attempts,
  next_attempt_at, last_error, remote_id, created_at, delivered_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
CREATE INDEX outbox_student ON outbox (school_year, student_id);
)sql",
      R"sql(
-- Attendance events and derived absence days are kept in date order, so a day's file
-- appends to the end of both tables instead of touching one page per student, and each
-- event names its origin by a small integer instead of the origin's text.
CREATE TABLE origin (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
INSERT INTO origin (name) SELECT DISTINCT origin FROM attendance_event ORDER BY origin;

-- Every date that has attendance events, with its school year: per-student reads of the
-- date-ordered tables seek once per date listed here.
CREATE TABLE event_date (
  date        INTEGER PRIMARY KEY,
  school_year INTEGER NOT NULL
);
INSERT INTO event_date (date, school_year) SELECT date, MIN(school_year) FROM attendance_event GROUP BY date;

CREATE TABLE attendance_event_v2 (
  date        INTEGER NOT NULL,
  student_id  TEXT NOT NULL,
  school_id   TEXT NOT NULL,
  period      TEXT NOT NULL,
  category    TEXT NOT NULL,
  school_year INTEGER NOT NULL,
  duration    INTEGER,
  reason      TEXT NOT NULL DEFAULT '',
  origin_id   INTEGER NOT NULL,
  PRIMARY KEY (date, student_id, school_id, period, category)
) WITHOUT ROWID;
INSERT INTO attendance_event_v2
SELECT e.date, e.student_id, e.school_id, e.period, e.category, e.school_year, e.duration, e.reason, o.id
FROM attendance_event e JOIN origin o ON o.name = e.origin
ORDER BY e.date, e.student_id, e.school_id, e.period, e.category;
DROP TABLE attendance_event;
ALTER TABLE attendance_event_v2 RENAME TO attendance_event;

-- The dates each origin has events on. Reading an origin's events scans those dates, which
-- costs one table write per origin and date instead of one index entry per event.
CREATE TABLE origin_date (
  origin_id INTEGER NOT NULL,
  date      INTEGER NOT NULL,
  PRIMARY KEY (origin_id, date)
) WITHOUT ROWID;
INSERT INTO origin_date (origin_id, date) SELECT DISTINCT origin_id, date FROM attendance_event;

CREATE TABLE absence_day_v2 (
  school_year INTEGER NOT NULL,
  date        INTEGER NOT NULL,
  student_id  TEXT NOT NULL,
  school_id   TEXT NOT NULL,
  amount      INTEGER NOT NULL,
  excused     INTEGER NOT NULL,
  unexcused   INTEGER NOT NULL,
  basis       TEXT NOT NULL,
  PRIMARY KEY (school_year, date, student_id)
) WITHOUT ROWID;
INSERT INTO absence_day_v2
SELECT school_year, date, student_id, school_id, amount, excused, unexcused, basis FROM absence_day
ORDER BY school_year, date, student_id;
DROP TABLE absence_day;
ALTER TABLE absence_day_v2 RENAME TO absence_day;

-- Bumped whenever students leave dirty_student, so a process that remembers which
-- students were dirty knows when that memory is out of date.
INSERT INTO meta (key, value) VALUES ('dirty_generation', '0')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
)sql",
      R"sql(
-- Outbox entries per status, kept by triggers, so a cycle's summary does not count the
-- whole outbox.
CREATE TABLE outbox_status_count (
  status  TEXT PRIMARY KEY,
  entries INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO outbox_status_count (status, entries) SELECT status, COUNT(*) FROM outbox GROUP BY status;
CREATE TRIGGER outbox_status_count_insert AFTER INSERT ON outbox BEGIN
  INSERT OR IGNORE INTO outbox_status_count (status, entries) VALUES (NEW.status, 0);
  UPDATE outbox_status_count SET entries = entries + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER outbox_status_count_delete AFTER DELETE ON outbox BEGIN
  UPDATE outbox_status_count SET entries = entries - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER outbox_status_count_update AFTER UPDATE OF status ON outbox
WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE outbox_status_count SET entries = entries - 1 WHERE status = OLD.status;
  INSERT OR IGNORE INTO outbox_status_count (status, entries) VALUES (NEW.status, 0);
  UPDATE outbox_status_count SET entries = entries + 1 WHERE status = NEW.status;
END;

-- The notices released on a date, for folding siblings' notices into one per household.
CREATE INDEX outbox_notice_issued ON outbox (school_year, issued_on) WHERE kind = 'notice';
)sql",
      R"sql(
-- A run at a later as-of date evaluates in full only the students with new data or a date
-- due; the others only add the enrolled days since the last run. recheck_on is that due
-- date (0: the next run), accruing_school the school whose days they add ('' for none).
ALTER TABLE tier_state ADD COLUMN recheck_on INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tier_state ADD COLUMN accruing_school TEXT NOT NULL DEFAULT '';
)sql",
      R"sql(
-- Dates on which many students' events changed at once, as a new day's file does. The
-- engine derives such a date for every student in one pass over its events, in place of
-- one dirty_day row per student.
CREATE TABLE dirty_date (
  school_year INTEGER NOT NULL,
  date        INTEGER NOT NULL,
  PRIMARY KEY (school_year, date)
) WITHOUT ROWID;

-- absence_day without its basis text, which made up half of each row that the engine
-- reads. `tiersync explain` derives the basis from the events when it prints it. The
-- table is copied, not altered, so that its pages are packed again.
CREATE TABLE absence_day_v3 (
  school_year INTEGER NOT NULL,
  date        INTEGER NOT NULL,
  student_id  TEXT NOT NULL,
  school_id   TEXT NOT NULL,
  amount      INTEGER NOT NULL,
  excused     INTEGER NOT NULL,
  unexcused   INTEGER NOT NULL,
  PRIMARY KEY (school_year, date, student_id)
) WITHOUT ROWID;
INSERT INTO absence_day_v3
SELECT school_year, date, student_id, school_id, amount, excused, unexcused FROM absence_day
ORDER BY school_year, date, student_id;
DROP TABLE absence_day;
ALTER TABLE absence_day_v3 RENAME TO absence_day;
)sql",
      R"sql(
-- The dates of the student's absence days at the last evaluation, as day numbers joined by
-- ','; NULL when unknown or changed since. A run that evaluates the student again reads
-- those dates and the ones since the last run, instead of every date of the year.
ALTER TABLE tier_state ADD COLUMN absence_dates TEXT;

-- Students whose absence days a run derived again and whose evaluation is still to come:
-- the run may evaluate another school year, or stop before its evaluation commits. The
-- next run of the school year evaluates them in full. history_changed is 1 when a day up
-- to that year's last as-of date changed, which makes absence_dates invalid.
CREATE TABLE pending_evaluation (
  school_year     INTEGER NOT NULL,
  student_id      TEXT NOT NULL,
  history_changed INTEGER NOT NULL,
  PRIMARY KEY (school_year, student_id)
) WITHOUT ROWID;
)sql",
      R"sql(
-- With history_changed 1, the dates up to the last run whose absence days changed, as day
-- numbers joined by ','; NULL when not known (an enrollment or calendar changed). The next
-- evaluation reads the stored absence dates and these instead of every date of the year.
ALTER TABLE pending_evaluation ADD COLUMN changed_dates TEXT;
)sql",
      R"sql(
-- The student's absence days themselves in place of their dates, which a later run had to
-- look up one by one (see EncodeAbsenceDays for the form). The dates are dropped, so the
-- next run reads those students' days in full once.
ALTER TABLE tier_state DROP COLUMN absence_dates;
ALTER TABLE tier_state ADD COLUMN absence_days TEXT;
)sql",
      R"sql(
-- A school year's enrollments in student order, with every column, so that reading them
-- all (each run that derives a date or evaluates many students) is one range of this
-- index instead of a lookup per row and a sort.
CREATE INDEX enrollment_year_student ON enrollment (school_year, student_id, entry_date, school_id, exit_date, grade);
)sql",
      R"sql(
-- The stored absence days move to a table of their own. Each run moves every steady
-- student's tier_state row to the new as-of date, and with the days in the row that
-- rewrote about five times as many pages. tier_state is copied, not altered, so that its
-- pages are packed again.
CREATE TABLE tier_state_days (
  school_year  INTEGER NOT NULL,
  student_id   TEXT NOT NULL,
  absence_days TEXT NOT NULL,
  PRIMARY KEY (school_year, student_id)
) WITHOUT ROWID;
INSERT INTO tier_state_days (school_year, student_id, absence_days)
SELECT school_year, student_id, absence_days FROM tier_state WHERE absence_days IS NOT NULL
ORDER BY school_year, student_id;

CREATE TABLE tier_state_v2 (
  student_id      TEXT NOT NULL,
  school_year     INTEGER NOT NULL,
  as_of           INTEGER NOT NULL,
  tier            INTEGER NOT NULL,
  school_id       TEXT NOT NULL,
  enrolled        INTEGER NOT NULL,
  absent          INTEGER NOT NULL,
  excused         INTEGER NOT NULL,
  unexcused       INTEGER NOT NULL,
  rules_version   TEXT NOT NULL,
  recheck_on      INTEGER NOT NULL DEFAULT 0,
  accruing_school TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (school_year, student_id)
) WITHOUT ROWID;
INSERT INTO tier_state_v2
SELECT student_id, school_year, as_of, tier, school_id, enrolled, absent, excused, unexcused, rules_version,
  recheck_on, accruing_school
FROM tier_state ORDER BY school_year, student_id;
DROP TABLE tier_state;
ALTER TABLE tier_state_v2 RENAME TO tier_state;
)sql",
  };
  return kMigrations;
}

}  // namespace tiersync
