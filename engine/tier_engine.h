#pragma once

// The incremental tier engine over the store.
//
// A run has three steps. It derives absence days again for the students whose inputs
// changed. It evaluates tiers at the as-of date: for the changed students only when the
// as-of date and the rules match the last run, else for every student of the school year.
// Then it records tier changes and queues the playbook's actions in the outbox, in the same
// transaction.
//
// Tier changes come from the student's whole timeline up to the as-of date, so syncing
// every day or once at the end of a period finds the same changes. Actions are queued for
// the latest change only: a student who went from Tier 1 to Tier 3 between two runs gets
// the Tier 3 actions, not stale Tier 2 ones. Their idempotency keys make reruns, replays
// and crashes harmless.

#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <string>
#include <vector>

#include "rules/attendance_rules.h"
#include "rules/playbook.h"
#include "store/store.h"

namespace tiersync {

struct EngineSettings {
  AttendanceRules rules;
  Playbook playbook;
  SchoolYearStart year_start;
  // Digest of the rules and playbook; a change forces every student to be derived again.
  std::string rules_fingerprint;
  // At a later as-of date, students with no new data and no decision due only add the
  // enrolled days since the last run. Off, every student is evaluated in full, which
  // gives the same results more slowly; tests compare the two.
  bool extend_steady_students = true;
};

struct EngineStats {
  size_t recomputed = 0;     // students whose absences were derived again
  size_t evaluated = 0;      // students whose tier was evaluated at the as-of date
  size_t extended = 0;       // students moved to the as-of date by adding enrolled days only
  // Evaluated students whose days since the last run moved no tier and fired no rule, so
  // the playbook step was skipped for them (see NewDaysDecideNothing).
  size_t no_new_decision = 0;
  size_t tier_changes = 0;   // tier changes recorded
  size_t superseded = 0;     // recorded changes that corrected data removed
  size_t actions_created = 0;
  size_t notices_released = 0;   // notices that passed the excuse window and the checks
  size_t notices_cancelled = 0;  // notices no longer eligible, never to be sent
  size_t notices_merged = 0;     // sibling notices folded into one household notice
  size_t kept_aside = 0;     // events kept aside among the recomputed students
  std::map<int, size_t> students_per_tier;  // all students of the school year at as-of
};

// One student's tier at a date, as the `tiers` command prints it.
struct StudentTier {
  std::string student_id;
  std::string school_id;  // the enrolling school on the as-of date, else the last one
  AttendanceTotals totals;
  int tier = 1;
};

class TierEngine {
 public:
  TierEngine(Store& store, EngineSettings settings);

  // Runs one evaluation at `as_of` and commits its results. Throws sqlite::SqliteError.
  EngineStats Run(Date as_of);

  // Computes every enrolled student's tier at `as_of` without writing anything. Students
  // with changes not yet derived are derived in memory.
  std::vector<StudentTier> ComputeTiers(Date as_of);

  // A readable account of how the student's tier at `as_of` was decided.
  std::optional<std::string> Explain(const std::string& student_id, Date as_of);

  // Checks a notice again with the store's current data, right before delivery. Returns
  // why it must not be sent, or nullopt when it may.
  std::optional<std::string> NoticeIneligibility(const OutboxEntry& entry, Date as_of);

  // Returns the school year's tier states as of the year's last run. A row that the runs
  // since its date left steady gains its accruing school's days (TierStateRow::as_of).
  std::vector<TierStateRow> TierStates(int school_year);

  const EngineSettings& settings() const { return settings_; }

 private:
  // The students RecomputeDirty derived, and which of them changed.
  struct Recomputed {
    std::set<StudentYear> derived;  // student-years derived again
    std::set<StudentYear> changed;  // among them, those whose absence days may differ now
    // Among those, the ones changed by a dirty date no later than the year's last run, with
    // those dates.
    std::map<StudentYear, std::vector<Date>> changed_before_last_run;
    std::vector<int> whole_years;   // school years derived whole
  };
  // Derives the dirty student-days and students again.
  Recomputed RecomputeDirty(EngineStats& stats);
  // Adds to `changed` the student-years whose absence days the dirty days change.
  void RecomputeDirtyDays(const std::map<StudentYear, std::vector<Date>>& dirty_days, std::set<StudentYear>& changed,
                          EngineStats& stats);
  // Derives every student's events on the dirty dates again, except the students in
  // `whole_dirty`, which are derived whole after. Adds to `result` what it derived.
  void RecomputeDirtyDates(const std::map<int, std::vector<Date>>& dirty_dates,
                           const std::vector<StudentYear>& whole_dirty, Recomputed& result, EngineStats& stats);
  // Derives the dirty students again, and every student with events in `all_years`;
  // adds the students of those years to `recomputed`.
  void RecomputeDirtyStudents(const std::vector<StudentYear>& dirty, const std::vector<int>& all_years,
                              std::set<StudentYear>& recomputed, EngineStats& stats);
  // The student's active recorded changes, from recorded_changes_ when a run loaded them all.
  std::vector<TierChangeRow> RecordedChanges(const std::string& student_id, int school_year);
  const CalendarSet& Calendars(int school_year);
  // The as-of date of the school year's last run, from meta; nullopt before the first or
  // when meta's value is invalid.
  std::optional<Date> LastAsOf(int school_year);
  // Returns the day number stored at meta `key`, or nullopt when there is none or it is
  // invalid, which is logged with `instead`, what the engine does without it.
  std::optional<Date> DateMeta(const std::string& key, const char* instead);
  // Returns the latest as-of date of any run of the school year, from meta. A store written
  // before meta kept it gives the date of its latest active tier change, or nullopt.
  std::optional<Date> RecordedThrough(int school_year);
  // Students per tier at the last run of the school year, from meta, or counted from
  // tier_state when meta has none.
  std::map<int, size_t> StoredTierCounts(int school_year);
  // Evaluates the student's tier at `as_of` with the calendars of as-of's school year.
  // The timeline and the enrolled days up to as-of go to the outputs that are not null.
  StudentTier Evaluate(const std::string& student_id, const StudentInputs& inputs, Date as_of,
                       TierTimeline* timeline_out, std::vector<EnrolledDay>* enrolled_days_out = nullptr);
  // The tier and recheck date that the last run left in the tier_state row of a student
  // this run evaluates.
  struct LastEvaluation {
    int tier = 1;
    Date recheck_on;
  };
  // Leaves the rows of the students of the school year who need no full evaluation as they
  // are, because their tier is the same at `as_of` (TierStateRow::as_of), and adds every
  // other student with a tier_state row to `to_evaluate`. Students with absence days or
  // enrollments beginning in between must be in `to_evaluate` already. Adds the stored absence days of the
  // students to evaluate to `known_absences` where they are still valid, and then their
  // row's tier and recheck date to `last_evaluations`.
  void ExtendSteadyStudents(int school_year, Date last_as_of, Date as_of, std::set<std::string>& to_evaluate,
                            std::map<std::string, KnownAbsences>& known_absences,
                            std::unordered_map<std::string, LastEvaluation>& last_evaluations, EngineStats& stats);
  // The earliest issue date of each student's notices, by notice level (EarliestIssuedNotices),
  // read once per run and level when first needed.
  using IssuedNotices = std::map<int, std::unordered_map<std::string, Date>>;
  // Returns whether the playbook step can be skipped for a student whose absence days up to
  // `last_as_of` are those the last run evaluated (`last`, with no date due by `as_of`).
  // That holds when no tier change falls after `last_as_of`, and no decision of a rule that
  // new absences fire (consecutive absences, unexcused days in a window or after a notice).
  // The outbox, the recorded tier changes and the next date due then stay as they are.
  bool NewDaysDecideNothing(const std::string& student_id, int school_year, const StudentInputs& inputs,
                            const TierTimeline& timeline, const std::vector<EnrolledDay>& enrolled_days,
                            Date last_as_of, Date as_of, const LastEvaluation& last, IssuedNotices& issued_notices);
  // `enrolled_days` are the student's EnrolledDays up to `as_of`. Returns the next date a
  // decision is due without new data (ApplyPlaybook).
  std::optional<Date> RecordChanges(const std::string& student_id, int school_year, const StudentInputs& inputs,
                     const TierTimeline& timeline, const std::vector<EnrolledDay>& enrolled_days, Date as_of,
                     EngineStats& stats);

  // Playbook steps (engine/playbook_step.cc).
  // The playbook's inputs for every student of one school year, read in one query each by
  // a run that evaluates every student. Each student's entries are moved out once.
  struct YearPlaybookInputs {
    int school_year = 0;
    std::unordered_map<std::string, StudentProfile> profiles;
    std::map<std::string, TierStateRow> last_year_states;
    std::unordered_map<std::string, std::set<std::string>> completed_tasks;
    std::unordered_map<std::string, std::vector<OutboxEntry>> outboxes;  // of the chunk being evaluated
  };
  YearPlaybookInputs LoadYearPlaybookInputs(int school_year);
  // The student's outbox entries of the school year, oldest first, from year_inputs_ when a
  // run loaded them all.
  std::vector<OutboxEntry> StudentOutbox(const std::string& student_id, int school_year);
  // Fills `context` for one student from `enrolled_days` (EnrolledDays up to `as_of`, with
  // the school year's calendars) and `outbox` (the student's entries of the school year).
  // `enrolled_days` must outlive `context`.
  void BuildPlanningContext(const std::string& student_id, int school_year, const StudentInputs& inputs,
                            const TierTimeline& timeline, Date as_of, const std::vector<EnrolledDay>& enrolled_days,
                            const std::vector<OutboxEntry>& outbox, PlanningContext& context);
  // Queues the playbook's actions for the student, then releases, holds or cancels the
  // student's notices that are not delivered yet. Returns NextDecisionDate for the
  // student's outbox as it leaves it.
  std::optional<Date> ApplyPlaybook(const std::string& student_id, int school_year, const StudentInputs& inputs,
                     const TierTimeline& timeline, const std::vector<EnrolledDay>& enrolled_days, Date as_of,
                     int64_t latest_change_id, EngineStats& stats);
  // Releases, holds or cancels the student's undelivered notices. `outbox` contains every
  // entry of the student in the school year, oldest first, and gets the new statuses too.
  // The notices it cancels are marked cancelled in `context.prior_actions` as well.
  void ReviewNotices(PlanningContext& context, std::vector<OutboxEntry>& outbox, EngineStats& stats);

  Store& store_;
  EngineSettings settings_;
  std::map<int, CalendarSet> calendars_;  // by school year, loaded once per engine
  // Set during a run that evaluates every student; each student's entry is moved out once.
  std::unordered_map<std::string, std::vector<TierChangeRow>>* recorded_changes_ = nullptr;
  // Set during a run that evaluates every student, like recorded_changes_.
  YearPlaybookInputs* year_inputs_ = nullptr;
  // From this many dirty students of one school year on, their inputs are read in one
  // pass over the year's tables instead of one query per student.
  static constexpr size_t kBulkLoadStudents = 2000;
  // Students whose recorded changes and outbox entries are read together when a run
  // evaluates everyone, or at least 1/kBulkShareDivisor of the year's students.
  static constexpr size_t kEvaluateChunk = 5000;
  static constexpr size_t kBulkShareDivisor = 4;
};

}  // namespace tiersync
