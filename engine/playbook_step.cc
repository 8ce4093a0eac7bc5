// The tier engine's playbook step: plans each evaluated student's actions and moves the
// student's notices through the safety checks (excuse window, notice order, eligibility,
// staff approval) before any of them reaches a sink.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/tier_engine.h"

namespace tiersync {

namespace {

bool Undelivered(const OutboxEntry& entry) {
  return entry.status == outbox_status::kHeld || entry.status == outbox_status::kAwaitingApproval ||
         entry.status == outbox_status::kPending;
}

PriorAction ToPriorAction(const OutboxEntry& entry, const std::set<std::string>& completed) {
  PriorAction prior;
  prior.idempotency_key = entry.action.idempotency_key;
  prior.kind = entry.action.kind;
  prior.action_id = entry.action.action_id;
  prior.role = entry.action.role;
  prior.title = entry.action.title;
  prior.school_id = entry.action.school_id;
  prior.status = entry.status;
  prior.notice_level = entry.action.notice_level;
  prior.issued_on = entry.issued_on;
  prior.due_date = entry.action.due_date;
  prior.completed = completed.count(entry.action.idempotency_key) > 0;
  return prior;
}

}  // namespace

void TierEngine::BuildPlanningContext(const std::string& student_id, int school_year, const StudentInputs& inputs,
                                      const TierTimeline& timeline, Date as_of,
                                      std::vector<EnrolledDay>& enrolled_days, PlanningContext& context) {
  const CalendarSet& calendars = Calendars(school_year);
  enrolled_days = EnrolledDays(inputs.enrollments, calendars, as_of);

  context.student_id = student_id;
  context.year = SchoolYear{school_year};
  context.as_of = as_of;
  context.rules = &settings_.rules;
  context.timeline = &timeline;
  context.enrolled_days = &enrolled_days;
  context.absence_days = &inputs.absence_days;

  const Enrollment* enrollment = EnrollmentOn(inputs.enrollments, as_of);
  if (enrollment == nullptr && !timeline.changes.empty()) {
    enrollment = EnrollmentOn(inputs.enrollments, timeline.changes.back().date);
  }
  if (enrollment == nullptr) {
    for (const auto& candidate : inputs.enrollments) {
      if (candidate.entry_date <= as_of) enrollment = &candidate;
    }
  }
  context.school_id = enrollment != nullptr ? enrollment->school_id : std::string();
  context.calendar = calendars.Find(context.school_id);
  // TODO: these per-student lookups (profile, last year's tier, completions, outbox) cost
  // four queries per evaluated student; batch them per run as the recorded tier changes are.
  context.profile = store_.LoadStudentProfile(student_id);
  context.grade = enrollment != nullptr ? enrollment->grade : std::string();
  if (context.grade.empty() && context.profile) context.grade = context.profile->grade;
  context.last_year_tier = store_.LoadTier(student_id, school_year - 1);

  std::set<std::string> completed = store_.CompletedTasks(student_id, school_year);
  for (const auto& entry : store_.LoadStudentOutbox(student_id, school_year)) {
    context.prior_actions.push_back(ToPriorAction(entry, completed));
  }
}

void TierEngine::ApplyPlaybook(const std::string& student_id, int school_year, const StudentInputs& inputs,
                               const TierTimeline& timeline, Date as_of, int64_t latest_change_id,
                               EngineStats& stats) {
  std::vector<EnrolledDay> enrolled_days;
  PlanningContext context;
  BuildPlanningContext(student_id, school_year, inputs, timeline, as_of, enrolled_days, context);

  for (const auto& action : PlanStudent(settings_.playbook, context)) {
    bool tier_trigger = action.trigger == Trigger::kTierEntered || action.trigger == Trigger::kTierLeftDownward;
    if (store_.InsertOutbox(action, tier_trigger ? latest_change_id : 0, settings_.rules.version)) {
      ++stats.actions_created;
    }
  }
  ReviewNotices(context, stats);
}

void TierEngine::ReviewNotices(const PlanningContext& context, EngineStats& stats) {
  std::vector<OutboxEntry> entries = store_.LoadStudentOutbox(context.student_id, context.year.start_year);
  std::vector<OutboxEntry*> notices;
  for (auto& entry : entries) {
    if (entry.action.kind == ActionKind::kNotice && Undelivered(entry)) notices.push_back(&entry);
  }
  // Lower levels first, so a notice released now lets the next level follow in the same run.
  std::stable_sort(notices.begin(), notices.end(), [](const OutboxEntry* a, const OutboxEntry* b) {
    return a->action.notice_level < b->action.notice_level;
  });

  // A level counts as sent once a notice of it is released for delivery. One still
  // waiting for approval does not count, so the next level cannot overtake it.
  auto sent_level = [&entries](int level) {
    for (const auto& entry : entries) {
      if (entry.action.kind != ActionKind::kNotice || entry.action.notice_level != level) continue;
      if (entry.status == outbox_status::kPending || entry.status == outbox_status::kDelivered ||
          entry.status == outbox_status::kMerged) {
        return true;
      }
    }
    return false;
  };

  const SafetySettings& safety = settings_.playbook.safety;
  for (OutboxEntry* notice : notices) {
    const PlannedAction& action = notice->action;
    // NOTE: when a household notice is cancelled here, the siblings' notices merged into it
    // stay merged and are not sent; their own rules fire again only on a new decision.
    if (auto reason = tiersync::NoticeIneligibility(settings_.playbook, action, context)) {
      store_.SetOutboxStatus(notice->id, outbox_status::kCancelled, *reason);
      notice->status = outbox_status::kCancelled;
      ++stats.notices_cancelled;
      spdlog::info("student {}: notice {} ({}) cancelled before delivery: {}", context.student_id,
                   action.idempotency_key, action.action_id, *reason);
      continue;
    }
    if (notice->status != outbox_status::kHeld) continue;

    if (context.as_of < action.hold_until) {
      store_.SetOutboxStatus(notice->id, outbox_status::kHeld,
                             "excuse window: held until " + action.hold_until.ToString());
      continue;
    }
    if (action.notice_level > 1 && !sent_level(action.notice_level - 1)) {
      store_.SetOutboxStatus(notice->id, outbox_status::kHeld,
                             "waiting for the level " + std::to_string(action.notice_level - 1) + " notice");
      continue;
    }
    const char* status = safety.staff_approval ? outbox_status::kAwaitingApproval : outbox_status::kPending;
    store_.SetOutboxStatus(notice->id, status, "released on " + context.as_of.ToString(), context.as_of);
    notice->status = status;
    notice->issued_on = context.as_of;
    ++stats.notices_released;
  }
}

std::optional<std::string> TierEngine::NoticeIneligibility(const OutboxEntry& entry, Date as_of) {
  int school_year = entry.action.school_year.start_year;
  std::set<std::string> only = {entry.action.student_id};
  auto inputs = store_.LoadStudentInputs(school_year, &only);
  auto found = inputs.find(entry.action.student_id);
  if (found == inputs.end()) return "the student has no enrollment in " + entry.action.school_year.Label() + " any more";

  // Derive from the stored events, not the derived days, so an excusal read since the
  // last engine run already counts.
  auto events = store_.LoadEvents(entry.action.student_id, school_year);
  found->second.absence_days =
      DeriveAbsences(found->second.enrollments, events, Calendars(school_year), settings_.rules).days;

  TierTimeline timeline;
  Evaluate(entry.action.student_id, found->second, as_of, &timeline);
  std::vector<EnrolledDay> enrolled_days;
  PlanningContext context;
  BuildPlanningContext(entry.action.student_id, school_year, found->second, timeline, as_of, enrolled_days, context);
  return tiersync::NoticeIneligibility(settings_.playbook, entry.action, context);
}

}  // namespace tiersync
