#pragma once

// The playbook: the tasks, documented contacts and notices each tier change requires of
// the school. Rules come from YAML (config/playbook.yaml), and this file only applies them.

#include <string>
#include <vector>

#include "base/date.h"
#include "rules/calendar.h"
#include "rules/tier.h"

namespace tiersync {

enum class ActionKind { kTask, kContact, kNotice };

const char* ActionKindName(ActionKind kind);

// One action a rule requires.
struct ActionTemplate {
  std::string id;      // stable within the playbook, part of the idempotency key
  ActionKind kind = ActionKind::kTask;
  std::string role;    // attendance_clerk, teacher, counselor, social_worker, attendance_team, principal
  int due_in_instructional_days = 5;
  std::string title;
  std::string notice_template;  // for notices: the template id
};

enum class Trigger { kTierEntered, kTierLeftDownward };

const char* TriggerName(Trigger trigger);

struct PlaybookRule {
  Trigger trigger = Trigger::kTierEntered;
  int tier = 2;  // the tier entered, or the tier left
  std::vector<ActionTemplate> actions;
};

struct Playbook {
  std::string version;
  std::vector<PlaybookRule> rules;
};

// An action ready for the outbox.
struct PlannedAction {
  std::string idempotency_key;
  ActionKind kind = ActionKind::kTask;
  std::string action_id;
  std::string role;
  std::string title;
  std::string notice_template;
  std::string student_id;
  std::string school_id;
  SchoolYear school_year;
  Trigger trigger = Trigger::kTierEntered;
  int from_tier = 1;
  int to_tier = 1;
  Date change_date;
  Date due_date;
  std::string reason;
};

// Returns the idempotency key of one action for one tier change. It depends only on the
// student, the school year, the transition and its occurrence, and the action id, so the
// same change found again (a replay, a crash and rerun, a late correction that moves the
// change by a few days) yields the same key.
std::string ActionKey(const std::string& student_id, SchoolYear year, Trigger trigger, int tier,
                      int occurrence, const std::string& action_id);

// Plans the actions for `change`. Due dates count `due_in_instructional_days` instructional
// days of `calendar` after `start` (weekdays once the calendar runs out).
std::vector<PlannedAction> PlanActions(const Playbook& playbook, const std::string& student_id,
                                       SchoolYear year, const TierChange& change,
                                       const std::string& school_id, Date start,
                                       const SchoolCalendar* calendar, const std::string& reason);

// Returns the date `count` instructional days after `start`.
Date AddInstructionalDays(const SchoolCalendar* calendar, Date start, int count);

}  // namespace tiersync
