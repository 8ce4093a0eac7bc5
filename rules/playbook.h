#pragma once

// The playbook: the tasks, documented contacts and notices that the attendance data calls
// for. A district writes it in YAML, with config/playbook.yaml as the default. This file
// contains its model, and rules/playbook_plan.h applies it to one student.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/date.h"
#include "rules/calendar.h"
#include "rules/tier.h"

namespace tiersync {

enum class ActionKind { kTask, kContact, kNotice };

const char* ActionKindName(ActionKind kind);
std::optional<ActionKind> ActionKindFromName(const std::string& name);

// The absences a notice relies on. An unexcused-based notice is checked again against the
// unexcused absences alone before it is released.
enum class NoticeBasis { kAnyAbsence, kUnexcused };

const char* NoticeBasisName(NoticeBasis basis);

// One action of a rule.
struct ActionTemplate {
  std::string id;  // stable within the playbook, part of the idempotency key
  ActionKind kind = ActionKind::kTask;
  // attendance_clerk, teacher, counselor, social_worker, attendance_team, principal. Empty
  // for a task_overdue rule, whose tasks go to the role after the overdue task's role.
  std::string role;
  // The due date counts instructional days of the student's school, or business days
  // (Monday to Friday) when `due_in_business_days` is set.
  int due_in_instructional_days = 5;
  std::optional<int> due_in_business_days;
  std::string title;
  std::string notice_template;  // for notices: the template id
  int notice_level = 0;         // for notices: 1, 2, ... in the order they must be sent; 0 = unordered
  NoticeBasis basis = NoticeBasis::kAnyAbsence;
};

enum class Trigger {
  kTierEntered,          // the latest tier change moved up into `tier`
  kTierLeftDownward,     // the latest tier change moved down out of `tier`
  kConsecutiveAbsences,  // `count` full-day absences on consecutive instructional days
  kUnexcusedInWindow,    // at least `count` unexcused days within `window_days` instructional days
  kUnexcusedAfterNotice, // an unexcused absence after the notice of `notice_level` was issued, in Tier >= `tier`
  kPlanReview,           // every `every_weeks` weeks while the student stays in `tier`
  kTaskOverdue,          // a task still open `grace_days` instructional days past its due date
};

const char* TriggerName(Trigger trigger);
std::optional<Trigger> TriggerFromName(const std::string& name);

// The conditions a rule's `when` can add to its trigger. Empty sets and unset values match
// every student.
struct RuleConditions {
  std::set<std::string> school_levels;  // elementary, middle, high (from the playbook's schools)
  std::set<std::string> grades;         // as the SIS writes them: "K", "06", "9"
  std::set<std::string> schools;        // school ids
  std::set<std::string> languages;      // the family's preferred language, e.g. "es"
  std::optional<int> min_days_enrolled;
  std::optional<int> last_year_tier_at_least;  // the tier the student ended last school year in
};

struct PlaybookRule {
  Trigger trigger = Trigger::kTierEntered;
  int tier = 2;          // tier_entered, tier_left_downward, plan_review, unexcused_after_notice
  int count = 0;         // consecutive_absences, unexcused_in_window
  int window_days = 0;   // unexcused_in_window, in instructional days
  int every_weeks = 0;   // plan_review
  int notice_level = 0;  // unexcused_after_notice
  int grace_days = 0;    // task_overdue, in instructional days
  RuleConditions conditions;
  std::vector<ActionTemplate> actions;

  // The trigger's parameters as text, part of every idempotency key the rule makes.
  std::string ParameterKey() const;
};

// A school's details for the playbook: its level, its name for notices, and the staff
// member in each role there.
struct SchoolProfile {
  std::string name;
  std::string level;                           // elementary, middle or high
  std::map<std::string, std::string> assignees;  // role -> staff member, as the SIS names them
};

// Notice templates by id and language. Bodies may use the placeholders NoticePlaceholders()
// lists, e.g. "{student_id}".
struct NoticeSettings {
  std::vector<std::string> languages = {"en"};
  std::string fallback_language = "en";
  std::map<std::string, std::map<std::string, std::string>> templates;  // id -> language -> body
};

struct SafetySettings {
  // Instructional days a notice waits after the absence that triggered it, so that absences
  // excused in that time are counted before it is sent. 0 sends at once.
  int excuse_window_days = 0;
  bool staff_approval = false;          // notices wait for `tiersync approve`
  bool one_notice_per_household = false;  // siblings who qualify together share one notice
  // Event triggers (consecutive absences, unexcused window, plan review) older than this
  // many instructional days at the as-of date make no new action; 0 keeps every one.
  int stale_after_days = 0;
};

struct Playbook {
  std::string version;
  std::optional<Date> effective_from;  // decisions dated before it make no new actions
  std::vector<PlaybookRule> rules;
  std::map<std::string, SchoolProfile> schools;
  std::map<std::string, std::string> default_assignees;  // role -> staff member
  // The order in which an overdue task moves up, e.g. teacher, counselor, principal.
  std::vector<std::string> escalation;
  NoticeSettings notices;
  SafetySettings safety;
};

// An action ready for the outbox.
struct PlannedAction {
  std::string idempotency_key;
  ActionKind kind = ActionKind::kTask;
  std::string action_id;
  std::string role;
  std::string assignee;
  std::string title;
  std::string notice_template;
  std::string language;     // notices: the language the body is in
  std::string body;         // notices: the rendered template
  int notice_level = 0;
  NoticeBasis basis = NoticeBasis::kAnyAbsence;
  std::string student_id;
  std::string school_id;
  std::string household_id;
  SchoolYear school_year;
  Trigger trigger = Trigger::kTierEntered;
  std::string trigger_parameters;  // PlaybookRule::ParameterKey() of the rule that fired
  int occurrence = 1;
  int from_tier = 1;
  int to_tier = 1;
  Date change_date;  // the day the trigger fired
  Date due_date;
  Date hold_until;   // notices: not released before this date (the excuse window)
  std::string reason;
};

// Returns the idempotency key of one action for one decision. It depends only on the
// student, the school year, the trigger with its parameters and occurrence, and the action
// id. So the same decision found again yields the same key, whether by a replay, a rerun
// after a crash, or a late correction that moves it by a few days.
std::string ActionKey(const std::string& student_id, SchoolYear year, Trigger trigger,
                      const std::string& parameters, int occurrence, const std::string& action_id);

// The same key for tier triggers, whose parameter is the tier.
std::string ActionKey(const std::string& student_id, SchoolYear year, Trigger trigger, int tier,
                      int occurrence, const std::string& action_id);

// Returns the date `count` instructional days after `start`.
Date AddInstructionalDays(const SchoolCalendar* calendar, Date start, int count);

// Returns the date `count` business days (Monday to Friday) after `start`.
Date AddBusinessDays(Date start, int count);

// The roles a task can have, in the default escalation order.
const std::vector<std::string>& KnownRoles();

}  // namespace tiersync
