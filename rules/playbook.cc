#include "rules/playbook.h"

#include "base/digest.h"

namespace tiersync {

namespace {

struct TriggerNameEntry {
  Trigger trigger;
  const char* name;
};

constexpr TriggerNameEntry kTriggerNames[] = {
    {Trigger::kTierEntered, "tier_entered"},
    {Trigger::kTierLeftDownward, "tier_left_downward"},
    {Trigger::kConsecutiveAbsences, "consecutive_absences"},
    {Trigger::kUnexcusedInWindow, "unexcused_in_window"},
    {Trigger::kUnexcusedAfterNotice, "unexcused_after_notice"},
    {Trigger::kPlanReview, "plan_review"},
    {Trigger::kTaskOverdue, "task_overdue"},
};

}  // namespace

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

std::optional<ActionKind> ActionKindFromName(const std::string& name) {
  if (name == "task") return ActionKind::kTask;
  if (name == "contact") return ActionKind::kContact;
  if (name == "notice") return ActionKind::kNotice;
  return std::nullopt;
}

const char* NoticeBasisName(NoticeBasis basis) {
  return basis == NoticeBasis::kUnexcused ? "unexcused" : "any_absence";
}

const char* TriggerName(Trigger trigger) {
  for (const auto& entry : kTriggerNames) {
    if (entry.trigger == trigger) return entry.name;
  }
  return "tier_entered";
}

std::optional<Trigger> TriggerFromName(const std::string& name) {
  for (const auto& entry : kTriggerNames) {
    if (name == entry.name) return entry.trigger;
  }
  return std::nullopt;
}

std::string PlaybookRule::ParameterKey() const {
  switch (trigger) {
    case Trigger::kTierEntered:
    case Trigger::kTierLeftDownward:
      return std::to_string(tier);
    case Trigger::kConsecutiveAbsences:
      return std::to_string(count);
    case Trigger::kUnexcusedInWindow:
      return std::to_string(count) + "/" + std::to_string(window_days);
    case Trigger::kUnexcusedAfterNotice:
      return std::to_string(notice_level) + "/" + std::to_string(tier);
    case Trigger::kPlanReview:
      return std::to_string(tier) + "/" + std::to_string(every_weeks);
    case Trigger::kTaskOverdue:
      return std::to_string(grace_days);
  }
  return {};
}

std::string ActionKey(const std::string& student_id, SchoolYear year, Trigger trigger, const std::string& parameters,
                      int occurrence, const std::string& action_id) {
  std::string material = "tiersync-action-v1|" + student_id + "|" + year.Label() + "|" + TriggerName(trigger) +
                         "|" + parameters + "|" + std::to_string(occurrence) + "|" + action_id;
  return Sha256Hex(material).substr(0, 32);
}

std::string ActionKey(const std::string& student_id, SchoolYear year, Trigger trigger, int tier, int occurrence,
                      const std::string& action_id) {
  return ActionKey(student_id, year, trigger, std::to_string(tier), occurrence, action_id);
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

Date AddBusinessDays(Date start, int count) {
  // NOTE: business days here are Monday to Friday. Public holidays are not skipped, so a
  // deadline across a holiday comes a day early.
  Date day = start;
  for (int remaining = count; remaining > 0;) {
    day = day + 1;
    if (day.iso_weekday() <= 5) --remaining;
  }
  return day;
}

const std::vector<std::string>& KnownRoles() {
  static const std::vector<std::string> kRoles = {"teacher",       "attendance_clerk", "counselor",
                                                  "social_worker", "attendance_team",  "principal"};
  return kRoles;
}

}  // namespace tiersync
