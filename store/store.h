#pragma once

// The SQLite store: raw records by origin, source cursors, derived absences, tier state and
// history, and the outbox. One Store object belongs to one thread. Several processes may
// open the same file (WAL mode); writers wait up to the busy timeout for each other.
//
// Methods throw sqlite::SqliteError on database failures (disk full, corruption, a lock
// held past the timeout); callers at the command boundary report them.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/date.h"
#include "base/result.h"
#include "rules/absence.h"
#include "rules/calendar.h"
#include "rules/playbook.h"
#include "rules/playbook_plan.h"
#include "store/checkpointer.h"
#include "rules/records.h"
#include "rules/tier.h"
#include "store/sqlite.h"

namespace tiersync {

// Counts of what applying one snapshot changed.
struct ApplyStats {
  size_t read = 0;       // records in the snapshot
  size_t inserted = 0;
  size_t updated = 0;
  size_t deleted = 0;    // held before but missing from the origin now
  size_t rejected = 0;   // records the source could not read
  bool skipped = false;  // the origin's cursor had not moved

  size_t changed() const { return inserted + updated + deleted; }
};

struct StudentYear {
  std::string student_id;
  int school_year = 0;
  auto operator<=>(const StudentYear&) const = default;
};

// A student's inputs for tier evaluation.
struct StudentInputs {
  std::vector<Enrollment> enrollments;
  std::vector<AbsenceDay> absence_days;
};

struct TierStateRow {
  std::string student_id;
  int tier = 1;
  // The date of `totals`. A row dated before its school year's last run was left steady by
  // the runs since, so its tier was the same at each of them. Its enrolled days grew by the
  // accruing school's instructional days after this date, which `totals` leaves out.
  Date as_of;
  std::string school_id;
  AttendanceTotals totals;
  std::string rules_version;
  // The first date on which the student must be evaluated in full even if none of the
  // student's inputs change; Date() when the next run must.
  Date recheck_on;
  // Until recheck_on, the school whose instructional days the student accrues as enrolled
  // days; empty when the student accrues none.
  std::string accruing_school;
  // The student's absence days up to the last evaluation's as-of date, in the form
  // EncodeAbsenceDays writes; nullopt when unknown or changed since. Decoded only for the
  // students a run evaluates.
  std::optional<std::string> absence_days;
};

// The form of tier_state_days.absence_days: the days up to `up_to`, each written as
// "date,amount,excused,length:school;" with day numbers and day units, so that any school
// id reads back whole.
std::string EncodeAbsenceDays(const std::vector<AbsenceDay>& days, Date up_to);
// Returns nullopt for text EncodeAbsenceDays did not write, so the caller reads every date.
std::optional<std::vector<AbsenceDay>> DecodeAbsenceDays(std::string_view text);

// A student's absence days as the last evaluation stored them, and the dates up to that
// evaluation on which they have changed since.
struct KnownAbsences {
  std::vector<AbsenceDay> days;
  std::vector<Date> changed_dates;  // sorted
};

// A student whose absence days changed since the last evaluation.
struct PendingEvaluation {
  bool history_changed = false;  // a day up to the year's last run changed
  // With history_changed, those days' dates; nullopt when not known.
  std::optional<std::vector<Date>> changed_dates;
};

struct TierChangeRow {
  int64_t id = 0;
  TierChange change;
  std::string reason;
  std::string rules_version;
  Date recorded_as_of;
  std::optional<std::string> superseded_at;
};

// Outbox statuses. A notice starts held until the engine's checks release it, may wait
// for approval, and ends delivered, dead, cancelled (no longer eligible) or merged (a
// sibling's household notice covers it). Tasks and contacts start pending.
namespace outbox_status {
inline constexpr const char* kHeld = "held";
inline constexpr const char* kAwaitingApproval = "awaiting_approval";
inline constexpr const char* kPending = "pending";
inline constexpr const char* kDelivered = "delivered";
inline constexpr const char* kDead = "dead";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kMerged = "merged";
}  // namespace outbox_status

struct OutboxEntry {
  int64_t id = 0;
  PlannedAction action;
  std::string rules_version;
  std::string status;
  std::string status_reason;            // why a notice is held, cancelled or merged
  std::optional<Date> issued_on;        // notices: the as-of date they were released on
  std::string household_students;       // household notices: every student it covers, ';'-separated
  int attempts = 0;
  std::string last_error;
  std::string remote_id;
  std::string created_at;
};

struct KeptAsideRow {
  std::string student_id;
  Date date;
  std::string school_id;
  std::string period;
  std::string category;
  std::string reason;
  std::string detail;
};

struct RejectedRow {
  std::string origin;
  std::string location;
  std::string reason;
  std::string raw;
};

class Store {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens the store at `path`, creating it and applying migrations in read-write mode. In
  // read-only mode the file must exist and be at the current schema version.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, Mode mode = Mode::kReadWrite);

  sqlite::Database& db() { return db_; }
  // Copies the write-ahead log into the database file after commits of a read-write store.
  BackgroundCheckpointer& checkpointer() { return checkpointer_; }
  // Returns whether the store writes through a write-ahead log, so that other connections
  // can read committed rows while this one has a write transaction open. A file system
  // without shared memory support, such as some network mounts, keeps the rollback journal.
  bool write_ahead_log() const { return write_ahead_log_; }
  int SchemaVersion();

  std::optional<std::string> Meta(const std::string& key);
  void SetMeta(const std::string& key, const std::string& value);

  // --- Ingest -----------------------------------------------------------------------
  std::optional<std::string> Cursor(const std::string& origin);
  // Every origin's cursor, by origin, read in one query.
  std::unordered_map<std::string, std::string> AllCursors();
  // Replaces everything held from `snapshot.origin` with the snapshot, records its cursor
  // and marks each affected student-year dirty, all in one transaction. A snapshot marked
  // unchanged only counts as skipped.
  ApplyStats ApplySnapshot(const Snapshot& snapshot, const SchoolYearStart& year_start);
  // Marks every student of the school year to be derived again. The enrolled ones go into
  // dirty_student. A flag on the year makes the engine's pass over the year's events also
  // derive students who have events but no enrollment.
  void MarkAllDirty(int school_year);
  // Returns the school years flagged by MarkAllDirty and not derived since.
  std::vector<int> DeriveAllYears();
  void ClearDeriveAll(int school_year);

  // --- Engine inputs ----------------------------------------------------------------
  // Returns the instructional days of every school in the school year. They are kept in
  // memory between calls until a snapshot, from any process, changes a calendar day.
  CalendarSet LoadCalendars(int school_year);
  // Student-years with any input change not yet derived: the whole student or some days.
  std::vector<StudentYear> DirtyStudents();
  // Student-years to derive whole (an enrollment or calendar changed, or the rules did).
  std::vector<StudentYear> WholeDirtyStudents();
  // Student-days to derive again, by student-year, dates sorted.
  std::map<StudentYear, std::vector<Date>> DirtyDays();
  // Dates to derive again for every student, by school year, sorted.
  std::map<int, std::vector<Date>> DirtyDates();
  std::vector<Enrollment> LoadEnrollments(const std::string& student_id, int school_year);
  std::vector<AttendanceEvent> LoadEvents(const std::string& student_id, int school_year);
  // Every enrollment of the school year, by student, each student's sorted by entry date.
  std::map<std::string, std::vector<Enrollment>> LoadAllEnrollments(int school_year);
  // Returns the dates of the school year that have attendance events, ascending.
  std::vector<Date> EventDates(int school_year);
  // Calls `visit` once per student-day with events of the school year from `first` to
  // `last`, both included, in date order and each date's students in id order.
  void VisitStudentDays(int school_year, Date first, Date last,
                        const std::function<void(std::vector<AttendanceEvent>&)>& visit);
  // VisitStudentDays through a connection of its own to the store at `path`, which reads
  // committed events only. Several threads may each run a call at once, also while another
  // connection has a write transaction open, when the store has a write-ahead log.
  static void VisitCommittedStudentDays(const std::string& path, int school_year, Date first, Date last,
                                        const std::function<void(std::vector<AttendanceEvent>&)>& visit);
  // Calls `visit` once per student-day with attendance events on `date`, with that day's
  // events in LoadEvents order and the students in id order.
  void ForEachStudentOn(int school_year, Date date, const std::function<void(std::vector<AttendanceEvent>&)>& visit);
  // The events on the dirty days, by student-year, in LoadEvents order.
  std::map<StudentYear, std::vector<AttendanceEvent>> LoadDirtyDayEvents();
  // LoadStudentInputs for students whose absence days up to `known_until` are known. The
  // known days are kept except on their changed dates. absence_day is read only on those
  // dates and on the dates with events after `known_until`, up to `last`.
  std::map<std::string, StudentInputs> LoadStudentInputsFromKnown(int school_year,
                                                                  const std::map<std::string, KnownAbsences>& known,
                                                                  Date known_until, Date last);
  // Enrollments and derived absence days for the school year. With `only`, for those
  // students; otherwise for every student with an enrollment that year.
  std::map<std::string, StudentInputs> LoadStudentInputs(int school_year,
                                                         const std::set<std::string>* only = nullptr);

  // --- Engine outputs ----------------------------------------------------------------
  void ReplaceDerived(const StudentYear& key, const StudentAbsences& absences);
  // Removes every derived row of the school year.
  void ClearDerivedOfYear(int school_year);
  // Removes the derived rows of every student of the school year in dirty_student, in one
  // pass over the tables, so the caller inserts them again with InsertDerived.
  void ClearDerivedOfDirtyStudents(int school_year);
  // Clears the student-years' dirty marks, whole and by day.
  void ClearDirty(const std::vector<StudentYear>& keys);
  // Removes the derived rows of every dirty day, so the caller inserts them again with
  // InsertDerived, and empties dirty_day. Returns the student-years that had absence days
  // among the rows removed.
  std::set<StudentYear> ClearDirtyDays();
  // Removes the derived rows of the date for every student, and the date's dirty marks.
  // Returns the students who had absence days among the rows removed.
  std::set<std::string> ClearDerivedOfDate(int school_year, Date date);
  // Empties dirty_date.
  void ClearDirtyDates();
  // Adds derived rows without removing any.
  void InsertDerived(const StudentYear& key, const StudentAbsences& absences);

  // Returns the school year's tier states by student, without their absence days.
  std::map<std::string, TierStateRow> LoadTierStates(int school_year);
  // Calls `visit` with every tier_state row of the school year, in student order, without
  // its absence days (LoadStoredAbsenceDays reads those).
  void ForEachTierState(int school_year, const std::function<void(const TierStateRow&)>& visit);
  // The student's stored absence days (TierStateRow::absence_days), if any.
  std::optional<std::string> LoadStoredAbsenceDays(int school_year, const std::string& student_id);
  // Writes the row, and its absence days to tier_state_days (removing them when nullopt).
  void SaveTierState(int school_year, const TierStateRow& row);
  // Removes every tier state of the school year, with their absence days.
  void DeleteTierStates(int school_year);
  // Makes the next run evaluate the student in full in every school year, after a change
  // the tier engine does not see in the records (a profile, a completion, an approval).
  void RecheckStudent(const std::string& student_id);
  // Records that the student-year's absence days changed and it awaits a full evaluation.
  // `history` lists which absence days up to the year's last run changed: none (nullptr),
  // the dates listed, or unknown (nullopt).
  void MarkPendingEvaluation(const StudentYear& key, const std::optional<std::vector<Date>>* history);
  // The school year's students awaiting a full evaluation, by student.
  std::map<std::string, PendingEvaluation> PendingEvaluations(int school_year);
  // The student's tier_state row, if any.
  std::optional<TierStateRow> LoadTierState(int school_year, const std::string& student_id);
  void ClearPendingEvaluations(int school_year);
  // Makes the next run evaluate every student of the school year in full.
  void RecheckYear(int school_year);
  // RecheckStudent for the student of an outbox entry.
  void RecheckStudentOf(const std::string& idempotency_key);
  // Students with an absence day from `first` to `last`, both included.
  std::set<std::string> StudentsAbsentBetween(int school_year, Date first, Date last);
  // Students with an enrollment that begins from `first` to `last`, both included.
  std::set<std::string> StudentsEnteringBetween(int school_year, Date first, Date last);
  void DeleteTierState(int school_year, const std::string& student_id);
  std::vector<TierChangeRow> LoadTierChanges(const std::string& student_id, int school_year,
                                             bool include_superseded = false);
  // Student ids from `first` to `last`, both included, in text order.
  struct StudentRange {
    std::string first;
    std::string last;
  };
  // Returns the active tier changes of every student of the school year, by student, or of
  // the students in `range` when it is given.
  std::unordered_map<std::string, std::vector<TierChangeRow>> LoadAllTierChanges(
      int school_year, const std::optional<StudentRange>& range = std::nullopt);
  int64_t InsertTierChange(const std::string& student_id, int school_year, const TierChange& change,
                           const std::string& reason, const std::string& rules_version, Date as_of);
  void SupersedeTierChange(int64_t id);
  // Returns the date of the school year's latest tier change that is not superseded, or
  // nullopt when there is none. Reads every change of the year.
  std::optional<Date> LatestActiveTierChange(int school_year);
  // Returns the new entry, or nullopt when an entry with the same idempotency key exists
  // already. A notice starts held; anything else starts pending. `tier_change_id` is 0 for
  // decisions that are not tier changes.
  std::optional<OutboxEntry> InsertOutbox(const PlannedAction& action, int64_t tier_change_id,
                                          const std::string& rules_version);

  // --- Playbook state ----------------------------------------------------------------
  // Every outbox entry of the student in the school year, oldest first, with notice bodies
  // left empty: the tier engine, which reads these, needs none.
  std::vector<OutboxEntry> LoadStudentOutbox(const std::string& student_id, int school_year);
  // For every student of the school year with an issued notice of `notice_level` that was
  // not cancelled, the earliest issue date.
  std::unordered_map<std::string, Date> EarliestIssuedNotices(int school_year, int notice_level);
  // Returns the outbox entries of the school year by student, oldest first, for every
  // student or for the students in `range` when it is given, with notice bodies left empty.
  std::unordered_map<std::string, std::vector<OutboxEntry>> LoadAllStudentOutboxes(
      int school_year, const std::optional<StudentRange>& range = std::nullopt);
  // Sets an entry's status and the reason; `issued_on` is written when given.
  void SetOutboxStatus(int64_t id, const std::string& status, const std::string& reason,
                       std::optional<Date> issued_on = std::nullopt);
  // Releases a notice awaiting approval for delivery. Returns an error naming the key when
  // no such notice awaits approval.
  Status ApproveNotice(const std::string& idempotency_key, Date approved_on);
  // Records that staff finished a task, so it no longer escalates. Returns an error when no
  // task has the key.
  Status CompleteTask(const std::string& idempotency_key, Date completed_on);
  std::set<std::string> CompletedTasks(const std::string& student_id, int school_year);
  // Returns the completed task keys of the school year by student.
  std::unordered_map<std::string, std::set<std::string>> AllCompletedTasks(int school_year);
  std::optional<StudentProfile> LoadStudentProfile(const std::string& student_id);
  // Returns every student profile, by student.
  std::unordered_map<std::string, StudentProfile> LoadAllStudentProfiles();
  // The tier the student was in at the last evaluation of `school_year`.
  std::optional<int> LoadTier(const std::string& student_id, int school_year);
  // Folds notices of the same template for siblings of one household, released on
  // `issued_on`, into the one of the lowest id; the others become merged. Returns how many
  // were merged.
  size_t MergeHouseholdNotices(int school_year, Date issued_on);

  // --- Outbox delivery -------------------------------------------------------------
  std::vector<OutboxEntry> DueOutbox(int64_t now_unix, size_t limit);
  std::vector<OutboxEntry> ListOutbox(const std::string& status, size_t limit);
  void MarkDelivered(const std::vector<int64_t>& ids, const std::string& remote_id);
  void MarkFailed(int64_t id, const std::string& error, int64_t next_attempt_unix, bool dead);
  std::map<std::string, int64_t> OutboxCounts();
  // Operator actions on dead letters. Each returns the ids it changed; an id that is not a
  // dead letter is left as it is and not returned. With `ids` empty, they act on every dead
  // letter. Retrying makes an entry pending again with its attempts reset, due at once;
  // discarding marks it 'discarded', kept for the audit trail and never delivered.
  std::vector<int64_t> RetryDeadLetters(const std::vector<int64_t>& ids);
  std::vector<int64_t> DiscardDeadLetters(const std::vector<int64_t>& ids);

  // --- Data quality ------------------------------------------------------------------
  std::vector<KeptAsideRow> ListKeptAside(std::optional<int> school_year,
                                          const std::string& student_id = {});
  std::vector<RejectedRow> ListRejected();
  std::vector<Session> ListSessions();

  explicit Store(const std::string& path, Mode mode);

 private:
  void Migrate();
  // Replaces the student profiles held from the snapshot's origin, inside ApplySnapshot's
  // transaction. Profiles do not change tiers, so no student becomes dirty, but students
  // whose profile changed are rechecked (RecheckStudent).
  void ApplyStudentProfiles(const Snapshot& snapshot, ApplyStats& stats);
  // From this many students with changed events on one date, ApplySnapshot marks the
  // date dirty instead of each student-day.
  static constexpr size_t kDirtyDateFrom = 1000;
  // From this many students on, LoadStudentInputs reads the whole year's rows once.
  static constexpr size_t kScanInputsFrom = 2000;
  // From this many changed profiles on, every student is rechecked in one statement.
  static constexpr size_t kRecheckEveryoneFrom = 1000;
  // Returns the id of an origin's name in the origin table, adding the name when new.
  int64_t OriginId(const std::string& origin);
  // A prepared statement kept for the Store's lifetime, reset and ready to bind.
  sqlite::Statement& Cached(const char* sql);

  sqlite::Database db_;
  // Declared after db_ so that its thread stops before the database closes.
  BackgroundCheckpointer checkpointer_;
  bool write_ahead_log_ = false;
  // Student-years known to be in dirty_student when meta's dirty_generation had this value.
  // Entries leave dirty_student only through ClearDirty, which bumps the generation, so
  // while the generation matches, every student here is still dirty.
  std::optional<std::string> whole_dirty_generation_;
  // Hash and equality of (student, year) keys that also take a string_view student, so a
  // lookup copies no string.
  struct StudentYearHash {
    using is_transparent = void;
    size_t operator()(const std::pair<std::string_view, int>& key) const {
      return std::hash<std::string_view>{}(key.first) * 31 + static_cast<size_t>(key.second);
    }
    size_t operator()(const std::pair<std::string, int>& key) const {
      return (*this)(std::pair<std::string_view, int>(key.first, key.second));
    }
  };
  struct StudentYearEqual {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return a.second == b.second && std::string_view(a.first) == std::string_view(b.first);
    }
  };
  std::unordered_set<std::pair<std::string, int>, StudentYearHash, StudentYearEqual> whole_dirty_;
  // Calendars by school year, with the meta calendar_version they were read at.
  std::map<int, std::pair<std::string, CalendarSet>> calendar_cache_;
  // Declared after db_ so that the statements are finalized before the database closes.
  std::unordered_map<const char*, std::unique_ptr<sqlite::Statement>> statements_;
};

// UTC wall-clock time as "YYYY-MM-DDTHH:MM:SSZ", for audit columns.
std::string UtcTimestamp();

}  // namespace tiersync
