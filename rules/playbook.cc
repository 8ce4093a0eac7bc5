#include "rules/playbook.h"

#include "base/digest.h"

namespace tiersync {

const char* ActionKindName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kTask:
      return "task";
    case ActionKind::kContact:
      return "contact";
    case ActionKind::kNotice:
      return "notice";
  }
  return "task";
}

const char* TriggerName(Trigger trigger) {
  return trigger == Trigger::kTierEntered ? "tier_entered" : "tier_left_downward";
}

std::string ActionKey(const std::string& student_id, SchoolYear year, Trigger trigger, int tier,
                      int occurrence, const std::string& action_id) {
  std::string material = "tiersync-action-v1|" + student_id + "|" + year.Label() + "|" +
                         TriggerName(trigger) + "|" + std::to_string(tier) + "|" +
                         std::to_string(occurrence) + "|" + action_id;
  return Sha256Hex(material).substr(0, 32);
}

Date AddInstructionalDays(const SchoolCalendar* calendar, Date start, int count) {
  if (count <= 0) return start;
  if (calendar != nullptr) {
    if (auto due = calendar->NthDayAfter(start, count)) return *due;
  }

  // NOTE: past the end of the loaded calendar (or without one) the count continues on
  // weekdays, which ignores holidays the calendar has not published yet.
  Date day = start;
  int remaining = count;
  if (calendar != nullptr && !calendar->days().empty() && start < calendar->days().back().date) {
    auto [begin, end] = calendar->Range(start + 1, calendar->days().back().date);
    remaining -= static_cast<int>(end - begin);
    day = calendar->days().back().date;
  }
  while (remaining > 0) {
    day = day + 1;
    if (day.iso_weekday() <= 5) --remaining;
  }
  return day;
}

std::vector<PlannedAction> PlanActions(const Playbook& playbook, const std::string& student_id,
                                       SchoolYear year, const TierChange& change,
                                       const std::string& school_id, Date start,
                                       const SchoolCalendar* calendar, const std::string& reason) {
  bool upward = change.to_tier > change.from_tier;
  Trigger trigger = upward ? Trigger::kTierEntered : Trigger::kTierLeftDownward;
  int rule_tier = upward ? change.to_tier : change.from_tier;

  std::vector<PlannedAction> planned;
  for (const auto& rule : playbook.rules) {
    if (rule.trigger != trigger || rule.tier != rule_tier) continue;
    for (const auto& action : rule.actions) {
      PlannedAction item;
      item.idempotency_key = ActionKey(student_id, year, trigger, rule_tier, change.occurrence, action.id);
      item.kind = action.kind;
      item.action_id = action.id;
      item.role = action.role;
      item.title = action.title;
      item.notice_template = action.notice_template;
      item.student_id = student_id;
      item.school_id = school_id;
      item.school_year = year;
      item.trigger = trigger;
      item.from_tier = change.from_tier;
      item.to_tier = change.to_tier;
      item.change_date = change.date;
      item.due_date = AddInstructionalDays(calendar, start, action.due_in_instructional_days);
      item.reason = reason;
      planned.push_back(std::move(item));
    }
  }
  return planned;
}

}  // namespace tiersync
