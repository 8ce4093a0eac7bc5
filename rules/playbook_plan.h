#pragma once

// Applies a playbook to one student at an as-of date. Pure: everything the decision needs
// comes in a PlanningContext, so tests state each case exactly.
//
// Every trigger is evaluated over the student's whole school year up to the as-of date and
// yields its occurrences in date order. Only the latest occurrence of each rule makes
// actions, so syncing every day or once a month creates each action at most once. A
// student who went from Tier 1 to Tier 3 between two runs gets the Tier 3 actions, not
// stale Tier 2 ones. For tier triggers, only the latest tier change counts at all.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/attendance_rules.h"
#include "rules/playbook.h"

namespace tiersync {

// An action created earlier this school year, as the planner needs to see it.
struct PriorAction {
  std::string idempotency_key;
  ActionKind kind = ActionKind::kTask;
  std::string action_id;
  std::string role;
  std::string title;
  std::string school_id;
  std::string status;           // held, awaiting_approval, pending, delivered, dead, cancelled, merged
  int notice_level = 0;
  std::optional<Date> issued_on;  // notices: the day the notice was released for delivery
  Date hold_until;                // notices: not released before this date
  NoticeBasis basis = NoticeBasis::kAnyAbsence;  // notices
  Date due_date;
  bool completed = false;       // tasks: staff recorded it as done
};

struct PlanningContext {
  std::string student_id;
  SchoolYear year;
  Date as_of;
  const AttendanceRules* rules = nullptr;
  const TierTimeline* timeline = nullptr;
  const std::vector<EnrolledDay>* enrolled_days = nullptr;  // up to as_of, sorted
  const std::vector<AbsenceDay>* absence_days = nullptr;    // sorted
  const SchoolCalendar* calendar = nullptr;                 // the student's current school
  std::string school_id;                                    // enrolling school at as_of
  std::string grade;                                        // from the enrollment, else the profile
  std::optional<StudentProfile> profile;
  std::optional<int> last_year_tier;
  std::vector<PriorAction> prior_actions;
};

// One firing of a rule's trigger.
struct Decision {
  size_t rule_index = 0;
  Date date;
  int occurrence = 1;
  int from_tier = 1;
  int to_tier = 1;
  std::string detail;          // why it fired, in words, for the action's reason
  const PriorAction* overdue = nullptr;  // task_overdue: the task that is overdue
};

// Every firing of `rule` up to the context's as-of date, in date order, before conditions.
std::vector<Decision> EvaluateTrigger(const Playbook& playbook, size_t rule_index, const PlanningContext& context);

// Whether the rule's conditions hold for the student.
bool ConditionsHold(const Playbook& playbook, const RuleConditions& conditions, const PlanningContext& context);

// Plans the actions the playbook requires at the context's as-of date: the latest
// decision of each rule whose conditions hold, dated on or after the playbook's effective
// date. Notice bodies are rendered in the family's language, or the fallback language.
std::vector<PlannedAction> PlanStudent(const Playbook& playbook, const PlanningContext& context);

// Checks again, with the data in `context`, that a notice planned earlier should still be
// sent. Returns why not, or nullopt when it should.
std::optional<std::string> NoticeIneligibility(const Playbook& playbook, const PlannedAction& notice,
                                               const PlanningContext& context);

// Returns the first date after the context's as-of date on which PlanStudent or the notice
// review could decide differently for this student with no new data. "No new data" means
// the same records, enrollments, profile and task completions, and no tier change. Such a
// date is the next plan review, a task turning overdue, a held notice's release, or any day
// while a min_days_enrolled condition is unmet. `prior_actions` must be the student's outbox
// as the run left it. Returns nullopt when no date is due.
std::optional<Date> NextDecisionDate(const Playbook& playbook, const PlanningContext& context);

// The tier the timeline puts the student in at the end of `date`.
int TierOn(const TierTimeline& timeline, Date date);

}  // namespace tiersync
