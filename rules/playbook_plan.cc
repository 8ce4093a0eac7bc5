#include "rules/playbook_plan.h"

#include <algorithm>
#include <map>

#include "rules/notice_template.h"

namespace tiersync {

namespace {

bool IsTierTrigger(Trigger trigger) {
  return trigger == Trigger::kTierEntered || trigger == Trigger::kTierLeftDownward;
}

std::string Days(DayUnits units) { return FormatDayUnits(units); }

std::vector<Decision> TierDecisions(const PlaybookRule& rule, size_t rule_index, const TierTimeline& timeline) {
  std::vector<Decision> decisions;
  int occurrence = 0;
  for (const auto& change : timeline.changes) {
    bool upward = change.to_tier > change.from_tier;
    bool fires = rule.trigger == Trigger::kTierEntered ? (upward && change.to_tier == rule.tier)
                                                        : (!upward && change.from_tier == rule.tier);
    if (!fires) continue;
    Decision decision;
    decision.rule_index = rule_index;
    decision.date = change.date;
    decision.occurrence = ++occurrence;
    decision.from_tier = change.from_tier;
    decision.to_tier = change.to_tier;
    decision.detail = "Tier " + std::to_string(change.from_tier) + " -> " + std::to_string(change.to_tier) + " on " +
                      change.date.ToString() + ": absent " + Days(change.totals.absent) + " of " +
                      Days(change.totals.enrolled) + " days enrolled";
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

// Finds a student's absence days by date while the enrolled days are walked in order.
class AbsenceCursor {
 public:
  explicit AbsenceCursor(const std::vector<AbsenceDay>& days) : next_(days.begin()), end_(days.end()) {}

  // Returns the absence on `date`, or nullptr. Dates must come in ascending order.
  const AbsenceDay* On(Date date) {
    while (next_ != end_ && next_->date < date) ++next_;
    return next_ != end_ && next_->date == date ? &*next_ : nullptr;
  }

 private:
  std::vector<AbsenceDay>::const_iterator next_;
  std::vector<AbsenceDay>::const_iterator end_;
};

std::vector<Decision> ConsecutiveDecisions(const PlaybookRule& rule, size_t rule_index,
                                           const PlanningContext& context) {
  std::vector<Decision> decisions;
  AbsenceCursor absences(*context.absence_days);
  int streak = 0;
  Date streak_start;
  for (const auto& day : *context.enrolled_days) {
    const AbsenceDay* absence = absences.On(day.date);
    bool absent_all_day = absence != nullptr && absence->amount >= day.units;
    if (!absent_all_day) {
      streak = 0;
      continue;
    }
    if (streak == 0) streak_start = day.date;
    if (++streak != rule.count) continue;
    Decision decision;
    decision.rule_index = rule_index;
    decision.date = day.date;
    decision.occurrence = static_cast<int>(decisions.size()) + 1;
    decision.detail = std::to_string(rule.count) + " consecutive days absent, " + streak_start.ToString() + " to " +
                      day.date.ToString();
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

std::vector<Decision> UnexcusedWindowDecisions(const PlaybookRule& rule, size_t rule_index,
                                               const PlanningContext& context) {
  std::vector<Decision> decisions;
  AbsenceCursor absences(*context.absence_days);
  const auto& days = *context.enrolled_days;
  std::vector<DayUnits> unexcused(days.size(), 0);
  DayUnits in_window = 0;
  bool was_met = false;
  for (size_t i = 0; i < days.size(); ++i) {
    const AbsenceDay* absence = absences.On(days[i].date);
    unexcused[i] = absence == nullptr ? 0 : absence->unexcused;
    in_window += unexcused[i];
    if (i >= static_cast<size_t>(rule.window_days)) in_window -= unexcused[i - rule.window_days];

    bool met = in_window >= static_cast<DayUnits>(rule.count) * kUnitsPerDay;
    if (met && !was_met) {
      Decision decision;
      decision.rule_index = rule_index;
      decision.date = days[i].date;
      decision.occurrence = static_cast<int>(decisions.size()) + 1;
      decision.detail = Days(in_window) + " unexcused days within the " + std::to_string(rule.window_days) +
                        " instructional days ending " + days[i].date.ToString();
      decisions.push_back(std::move(decision));
    }
    was_met = met;
  }
  return decisions;
}

std::vector<Decision> AfterNoticeDecisions(const PlaybookRule& rule, size_t rule_index,
                                           const PlanningContext& context) {
  std::optional<Date> issued;
  for (const auto& prior : context.prior_actions) {
    if (prior.kind != ActionKind::kNotice || prior.notice_level != rule.notice_level) continue;
    if (!prior.issued_on || prior.status == "cancelled") continue;
    if (!issued || *prior.issued_on < *issued) issued = prior.issued_on;
  }
  if (!issued) return {};

  for (const auto& day : *context.absence_days) {
    if (day.date <= *issued || day.date > context.as_of || day.unexcused == 0) continue;
    if (TierOn(*context.timeline, day.date) < rule.tier) continue;
    Decision decision;
    decision.rule_index = rule_index;
    decision.date = day.date;
    decision.detail = "unexcused absence on " + day.date.ToString() + " after the level " +
                      std::to_string(rule.notice_level) + " notice issued " + issued->ToString() + ", in Tier " +
                      std::to_string(TierOn(*context.timeline, day.date));
    return {decision};
  }
  return {};
}

std::vector<Decision> PlanReviewDecisions(const PlaybookRule& rule, size_t rule_index,
                                          const PlanningContext& context) {
  std::vector<Decision> decisions;
  const auto& changes = context.timeline->changes;
  for (size_t i = 0; i < changes.size(); ++i) {
    if (changes[i].to_tier != rule.tier) continue;
    Date end = i + 1 < changes.size() ? changes[i + 1].date : context.as_of + 1;
    for (int k = 1;; ++k) {
      Date review = changes[i].date + 7 * rule.every_weeks * k;
      if (!(review < end) || context.as_of < review) break;
      Decision decision;
      decision.rule_index = rule_index;
      decision.date = review;
      decision.occurrence = static_cast<int>(decisions.size()) + 1;
      decision.detail = "in Tier " + std::to_string(rule.tier) + " since " + changes[i].date.ToString() + ": review " +
                        std::to_string(k) + " every " + std::to_string(rule.every_weeks) + " weeks";
      decisions.push_back(std::move(decision));
    }
  }
  return decisions;
}

std::optional<std::string> NextRole(const Playbook& playbook, const std::string& role) {
  const auto& order = playbook.escalation.empty() ? KnownRoles() : playbook.escalation;
  auto found = std::find(order.begin(), order.end(), role);
  if (found == order.end() || found + 1 == order.end()) return std::nullopt;
  return *(found + 1);
}

std::vector<Decision> OverdueDecisions(const Playbook& playbook, const PlaybookRule& rule, size_t rule_index,
                                       const PlanningContext& context) {
  std::vector<Decision> decisions;
  for (const auto& prior : context.prior_actions) {
    if (prior.kind != ActionKind::kTask || prior.completed) continue;
    if (prior.status == "cancelled" || prior.status == "merged") continue;
    // NOTE: a task at the last role of the escalation order has no one to go to; it stays
    // overdue without a new task.
    if (!NextRole(playbook, prior.role)) continue;
    Date overdue_on = AddInstructionalDays(context.calendar, prior.due_date, rule.grace_days + 1);
    if (context.as_of < overdue_on) continue;
    Decision decision;
    decision.rule_index = rule_index;
    decision.date = overdue_on;
    decision.overdue = &prior;
    decision.detail = "task '" + prior.action_id + "' (" + prior.role + ") was due " + prior.due_date.ToString() +
                      " and is not recorded as done";
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

std::string Assignee(const Playbook& playbook, const std::string& school_id, const std::string& role) {
  if (auto school = playbook.schools.find(school_id); school != playbook.schools.end()) {
    if (auto found = school->second.assignees.find(role); found != school->second.assignees.end()) {
      return found->second;
    }
  }
  auto found = playbook.default_assignees.find(role);
  return found == playbook.default_assignees.end() ? std::string() : found->second;
}

std::string NoticeLanguage(const Playbook& playbook, const PlanningContext& context) {
  const auto& languages = playbook.notices.languages;
  if (context.profile) {
    const std::string& preferred = context.profile->preferred_language;
    if (std::find(languages.begin(), languages.end(), preferred) != languages.end()) return preferred;
  }
  return playbook.notices.fallback_language;
}

std::map<std::string, std::string> NoticeValues(const Playbook& playbook, const PlanningContext& context,
                                                const std::string& school_id, int tier, Date trigger_date,
                                                Date respond_by) {
  const AttendanceTotals& totals = context.timeline->totals;
  std::string school_name = school_id;
  if (auto school = playbook.schools.find(school_id); school != playbook.schools.end() && !school->second.name.empty()) {
    school_name = school->second.name;
  }
  return {{"student_id", context.student_id},
          {"school_id", school_id},
          {"school_name", school_name},
          {"school_year", context.year.Label()},
          {"tier", std::to_string(tier)},
          {"absent_days", Days(totals.absent)},
          {"excused_days", Days(totals.excused)},
          {"unexcused_days", Days(totals.unexcused)},
          {"enrolled_days", Days(totals.enrolled)},
          {"trigger_date", trigger_date.ToString()},
          {"respond_by", respond_by.ToString()}};
}

std::optional<PlannedAction> MakeAction(const Playbook& playbook, const PlaybookRule& rule, const Decision& decision,
                                        const ActionTemplate& action, const PlanningContext& context) {
  PlannedAction item;
  item.trigger = rule.trigger;
  item.trigger_parameters = rule.ParameterKey();
  if (decision.overdue != nullptr) item.trigger_parameters += "|" + decision.overdue->idempotency_key;
  item.occurrence = decision.occurrence;
  item.idempotency_key =
      ActionKey(context.student_id, context.year, rule.trigger, item.trigger_parameters, decision.occurrence, action.id);
  item.kind = action.kind;
  item.action_id = action.id;
  item.student_id = context.student_id;
  item.school_id = decision.overdue != nullptr ? decision.overdue->school_id : context.school_id;
  item.school_year = context.year;
  if (context.profile) item.household_id = context.profile->household_id;

  item.role = action.role;
  item.title = action.title;
  if (decision.overdue != nullptr) {
    auto next = NextRole(playbook, decision.overdue->role);
    if (!next) return std::nullopt;
    item.role = *next;
    item.title = action.title + ": " + decision.overdue->title;
  }
  item.assignee = Assignee(playbook, item.school_id, item.role);

  bool tier_trigger = IsTierTrigger(rule.trigger);
  item.from_tier = tier_trigger ? decision.from_tier : context.timeline->tier;
  item.to_tier = tier_trigger ? decision.to_tier : context.timeline->tier;
  item.change_date = decision.date;
  item.due_date = action.due_in_business_days ? AddBusinessDays(context.as_of, *action.due_in_business_days)
                                              : AddInstructionalDays(context.calendar, context.as_of,
                                                                     action.due_in_instructional_days);
  item.hold_until = decision.date;
  item.reason = decision.detail;

  if (action.kind == ActionKind::kNotice) {
    item.notice_template = action.notice_template;
    item.notice_level = action.notice_level;
    item.basis = action.basis;
    item.hold_until = AddInstructionalDays(context.calendar, decision.date, playbook.safety.excuse_window_days);
    item.language = NoticeLanguage(playbook, context);
    const auto& bodies = playbook.notices.templates.at(action.notice_template);
    auto body = bodies.find(item.language);
    if (body == bodies.end()) body = bodies.find(playbook.notices.fallback_language);
    item.body = RenderNotice(body->second, NoticeValues(playbook, context, item.school_id, item.to_tier,
                                                        decision.date, item.due_date));
  }
  return item;
}

const ActionTemplate* FindNoticeAction(const Playbook& playbook, int level) {
  for (const auto& rule : playbook.rules) {
    for (const auto& action : rule.actions) {
      if (action.kind == ActionKind::kNotice && action.notice_level == level) return &action;
    }
  }
  return nullptr;
}

bool HasNoticeOfLevel(const PlanningContext& context, const std::vector<PlannedAction>& planned, int level) {
  for (const auto& prior : context.prior_actions) {
    if (prior.kind == ActionKind::kNotice && prior.notice_level == level && prior.status != "cancelled") return true;
  }
  for (const auto& item : planned) {
    if (item.kind == ActionKind::kNotice && item.notice_level == level) return true;
  }
  return false;
}

// A notice of level L goes out only after one of level L - 1. When the student skipped the
// tier whose rule sends that one (Tier 2 straight to Tier 4), it is planned here too, for
// the same decision, so the family receives the notices in order.
void PlanMissingLowerNotices(const Playbook& playbook, const PlaybookRule& rule, const Decision& decision,
                             const PlannedAction& notice, const PlanningContext& context,
                             std::vector<PlannedAction>& planned) {
  std::vector<PlannedAction> missing;
  for (int level = notice.notice_level - 1; level >= 1; --level) {
    if (HasNoticeOfLevel(context, planned, level)) break;
    const ActionTemplate* lower = FindNoticeAction(playbook, level);
    if (lower == nullptr) break;
    auto item = MakeAction(playbook, rule, decision, *lower, context);
    if (!item) break;
    item->reason = "sent before the level " + std::to_string(notice.notice_level) + " notice, which needs it; " +
                   item->reason;
    missing.insert(missing.begin(), std::move(*item));
  }
  for (auto& item : missing) planned.push_back(std::move(item));
}

}  // namespace

int TierOn(const TierTimeline& timeline, Date date) {
  int tier = 1;
  for (const auto& change : timeline.changes) {
    if (date < change.date) break;
    tier = change.to_tier;
  }
  return tier;
}

std::vector<Decision> EvaluateTrigger(const Playbook& playbook, size_t rule_index, const PlanningContext& context) {
  const PlaybookRule& rule = playbook.rules[rule_index];
  switch (rule.trigger) {
    case Trigger::kTierEntered:
    case Trigger::kTierLeftDownward:
      return TierDecisions(rule, rule_index, *context.timeline);
    case Trigger::kConsecutiveAbsences:
      return ConsecutiveDecisions(rule, rule_index, context);
    case Trigger::kUnexcusedInWindow:
      return UnexcusedWindowDecisions(rule, rule_index, context);
    case Trigger::kUnexcusedAfterNotice:
      return AfterNoticeDecisions(rule, rule_index, context);
    case Trigger::kPlanReview:
      return PlanReviewDecisions(rule, rule_index, context);
    case Trigger::kTaskOverdue:
      return OverdueDecisions(playbook, rule, rule_index, context);
  }
  return {};
}

bool ConditionsHold(const Playbook& playbook, const RuleConditions& conditions, const PlanningContext& context) {
  if (!conditions.schools.empty() && !conditions.schools.count(context.school_id)) return false;
  if (!conditions.school_levels.empty()) {
    auto school = playbook.schools.find(context.school_id);
    if (school == playbook.schools.end() || !conditions.school_levels.count(school->second.level)) return false;
  }
  if (!conditions.grades.empty() && !conditions.grades.count(context.grade)) return false;
  if (!conditions.languages.empty()) {
    if (!context.profile || !conditions.languages.count(context.profile->preferred_language)) return false;
  }
  if (conditions.min_days_enrolled &&
      context.timeline->totals.enrolled < static_cast<DayUnits>(*conditions.min_days_enrolled) * kUnitsPerDay) {
    return false;
  }
  if (conditions.last_year_tier_at_least && context.last_year_tier.value_or(1) < *conditions.last_year_tier_at_least) {
    return false;
  }
  return true;
}

std::vector<PlannedAction> PlanStudent(const Playbook& playbook, const PlanningContext& context) {
  std::vector<PlannedAction> planned;
  const auto& changes = context.timeline->changes;
  for (size_t index = 0; index < playbook.rules.size(); ++index) {
    const PlaybookRule& rule = playbook.rules[index];
    std::vector<Decision> decisions = EvaluateTrigger(playbook, index, context);
    if (decisions.empty()) continue;

    // Which decisions may still act: every overdue task escalates, otherwise only the latest.
    std::vector<const Decision*> acting;
    if (rule.trigger == Trigger::kTaskOverdue) {
      for (const auto& decision : decisions) acting.push_back(&decision);
    } else {
      const Decision& latest = decisions.back();
      if (IsTierTrigger(rule.trigger)) {
        // Tier actions follow only the latest tier change of the timeline.
        if (changes.empty() || !(changes.back().date == latest.date && changes.back().to_tier == latest.to_tier &&
                                 changes.back().from_tier == latest.from_tier)) {
          continue;
        }
      } else if (playbook.safety.stale_after_days > 0 &&
                 AddInstructionalDays(context.calendar, latest.date, playbook.safety.stale_after_days) <
                     context.as_of) {
        continue;
      }
      acting.push_back(&latest);
    }
    if (!ConditionsHold(playbook, rule.conditions, context)) continue;

    for (const Decision* decision : acting) {
      if (playbook.effective_from && decision->date < *playbook.effective_from) continue;
      for (const auto& action : rule.actions) {
        auto item = MakeAction(playbook, rule, *decision, action, context);
        if (!item) continue;
        if (item->kind == ActionKind::kNotice && item->notice_level > 1) {
          PlanMissingLowerNotices(playbook, rule, *decision, *item, context, planned);
        }
        planned.push_back(std::move(*item));
      }
    }
  }
  return planned;
}

std::optional<Date> NextDecisionDate(const Playbook& playbook, const PlanningContext& context) {
  std::optional<Date> next;
  auto consider = [&](Date date) {
    if (context.as_of < date && (!next || date < *next)) next = date;
  };
  const Date tomorrow = context.as_of + 1;
  const TierTimeline& timeline = *context.timeline;
  for (const auto& rule : playbook.rules) {
    // Each new enrolled day may be the one that meets the condition.
    if (rule.conditions.min_days_enrolled &&
        timeline.totals.enrolled < static_cast<DayUnits>(*rule.conditions.min_days_enrolled) * kUnitsPerDay) {
      consider(tomorrow);
    }
    // Only the current stay in the tier, the last change's, makes new reviews.
    if (rule.trigger == Trigger::kPlanReview && rule.every_weeks > 0 && !timeline.changes.empty() &&
        timeline.changes.back().to_tier == rule.tier) {
      Date since = timeline.changes.back().date;
      int32_t period = 7 * rule.every_weeks;
      int32_t reviews_so_far = (context.as_of.days() - since.days()) / period;
      consider(since + period * (reviews_so_far + 1));
    }
    if (rule.trigger == Trigger::kTaskOverdue) {
      for (const auto& prior : context.prior_actions) {
        if (prior.kind != ActionKind::kTask || prior.completed) continue;
        if (prior.status == "cancelled" || prior.status == "merged") continue;
        if (!NextRole(playbook, prior.role)) continue;
        consider(AddInstructionalDays(context.calendar, prior.due_date, rule.grace_days + 1));
      }
    }
  }
  for (const auto& prior : context.prior_actions) {
    if (prior.kind != ActionKind::kNotice) continue;
    bool held = prior.status == "held";
    bool undelivered = held || prior.status == "pending" || prior.status == "awaiting_approval";
    if (undelivered && prior.basis == NoticeBasis::kUnexcused) {
      // The unexcused share falls as enrolled days accrue, which can end its eligibility.
      consider(tomorrow);
    } else if (held) {
      // Past its excuse window a held notice waits for a lower level, which can be
      // released or merged on any day.
      consider(context.as_of < prior.hold_until ? prior.hold_until : tomorrow);
    }
  }
  return next;
}

std::optional<std::string> NoticeIneligibility(const Playbook& playbook, const PlannedAction& notice,
                                               const PlanningContext& context) {
  // The rule that made the notice is the one with its trigger and parameters. The notice's
  // action belongs to another rule when it was planned as a missing lower level.
  std::optional<size_t> rule_index;
  for (size_t index = 0; index < playbook.rules.size() && !rule_index; ++index) {
    const PlaybookRule& rule = playbook.rules[index];
    if (rule.trigger == notice.trigger && rule.ParameterKey() == notice.trigger_parameters) rule_index = index;
  }
  bool action_known = false;
  for (const auto& rule : playbook.rules) {
    for (const auto& action : rule.actions) action_known = action_known || action.id == notice.action_id;
  }
  if (!rule_index || !action_known) {
    return "playbook " + playbook.version + " no longer has a " + TriggerName(notice.trigger) + " rule with action '" +
           notice.action_id + "'";
  }

  std::vector<Decision> decisions = EvaluateTrigger(playbook, *rule_index, context);
  bool still_holds = false;
  for (const auto& decision : decisions) still_holds = still_holds || decision.occurrence == notice.occurrence;
  if (!still_holds) {
    return std::string("the ") + TriggerName(notice.trigger) + " decision of " + notice.change_date.ToString() +
           " no longer holds with the current attendance data";
  }

  if (notice.trigger != Trigger::kTierEntered) return std::nullopt;

  // The tier the notice is about: its own rule's tier, which is lower than the decision's
  // for a lower-level notice planned because the student skipped a tier.
  int notice_tier = notice.to_tier;
  for (const auto& rule : playbook.rules) {
    if (rule.trigger != Trigger::kTierEntered) continue;
    for (const auto& action : rule.actions) {
      if (action.id == notice.action_id) notice_tier = std::min(notice_tier, rule.tier);
    }
  }
  const TierTimeline& timeline = *context.timeline;
  if (timeline.tier < notice_tier) {
    return "the student is in Tier " + std::to_string(timeline.tier) + " now, below Tier " +
           std::to_string(notice_tier);
  }
  if (notice.basis == NoticeBasis::kUnexcused) {
    int unexcused_tier = ClassifyTier(timeline.totals.unexcused, timeline.totals.enrolled, *context.rules);
    if (unexcused_tier < notice_tier) {
      return "unexcused absences alone (" + Days(timeline.totals.unexcused) + " of " + Days(timeline.totals.enrolled) +
             " days enrolled) are below Tier " + std::to_string(notice_tier);
    }
  }
  return std::nullopt;
}

}  // namespace tiersync
