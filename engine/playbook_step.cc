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
  prior.hold_until = entry.action.hold_until;
  prior.basis = entry.action.basis;
  prior.due_date = entry.action.due_date;
  prior.completed = completed.count(entry.action.idempotency_key) > 0;
  return prior;
}

}  // namespace

TierEngine::YearPlaybookInputs TierEngine::LoadYearPlaybookInputs(int school_year) {
  YearPlaybookInputs year;
  year.school_year = school_year;
  year.profiles = store_.LoadAllStudentProfiles();
  year.last_year_states = store_.LoadTierStates(school_year - 1);
  year.completed_tasks = store_.AllCompletedTasks(school_year);
  return year;
}

std::vector<OutboxEntry> TierEngine::StudentOutbox(const std::string& student_id, int school_year) {
  if (year_inputs_ == nullptr || year_inputs_->school_year != school_year) {
    return store_.LoadStudentOutbox(student_id, school_year);
  }
  auto found = year_inputs_->outboxes.find(student_id);
  return found == year_inputs_->outboxes.end() ? std::vector<OutboxEntry>{} : std::move(found->second);
}

void TierEngine::BuildPlanningContext(const std::string& student_id, int school_year, const StudentInputs& inputs,
                                      const TierTimeline& timeline, Date as_of,
                                      const std::vector<EnrolledDay>& enrolled_days,
                                      const std::vector<OutboxEntry>& outbox, PlanningContext& context) {
  const CalendarSet& calendars = Calendars(school_year);
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

  std::set<std::string> completed;
  if (year_inputs_ != nullptr && year_inputs_->school_year == school_year) {
    YearPlaybookInputs& year = *year_inputs_;
    if (auto found = year.profiles.find(student_id); found != year.profiles.end()) {
      context.profile = std::move(found->second);
    }
    if (auto found = year.last_year_states.find(student_id); found != year.last_year_states.end()) {
      context.last_year_tier = found->second.tier;
    }
    if (auto found = year.completed_tasks.find(student_id); found != year.completed_tasks.end()) {
      completed = std::move(found->second);
    }
  } else {
    context.profile = store_.LoadStudentProfile(student_id);
    context.last_year_tier = store_.LoadTier(student_id, school_year - 1);
    completed = store_.CompletedTasks(student_id, school_year);
  }
  context.grade = enrollment != nullptr ? enrollment->grade : std::string();
  if (context.grade.empty() && context.profile) context.grade = context.profile->grade;

  context.prior_actions.reserve(outbox.size());
  for (const auto& entry : outbox) context.prior_actions.push_back(ToPriorAction(entry, completed));
}

std::optional<Date> TierEngine::ApplyPlaybook(const std::string& student_id, int school_year, const StudentInputs& inputs,
                               const TierTimeline& timeline, const std::vector<EnrolledDay>& enrolled_days,
                               Date as_of, int64_t latest_change_id, EngineStats& stats) {
  std::vector<OutboxEntry> outbox = StudentOutbox(student_id, school_year);
  PlanningContext context;
  BuildPlanningContext(student_id, school_year, inputs, timeline, as_of, enrolled_days, outbox, context);

  for (const auto& action : PlanStudent(settings_.playbook, context)) {
    // Most planned actions were queued by an earlier run, so skip those here. InsertOutbox
    // would ignore them by their idempotency key, but only after binding 29 columns.
    bool queued = std::any_of(outbox.begin(), outbox.end(), [&action](const OutboxEntry& entry) {
      return entry.action.idempotency_key == action.idempotency_key;
    });
    if (queued) continue;
    bool tier_trigger = action.trigger == Trigger::kTierEntered || action.trigger == Trigger::kTierLeftDownward;
    // The notices just queued are reviewed in this run too, so they join the outbox.
    if (auto entry = store_.InsertOutbox(action, tier_trigger ? latest_change_id : 0, settings_.rules.version)) {
      ++stats.actions_created;
      outbox.push_back(std::move(*entry));
    }
  }
  size_t cancelled_before = stats.notices_cancelled;
  ReviewNotices(context, outbox, stats);

  // The next date due is found from the outbox as this run leaves it.
  std::set<std::string> completed;
  for (const auto& prior : context.prior_actions) {
    if (prior.completed) completed.insert(prior.idempotency_key);
  }
  context.prior_actions.clear();
  for (const auto& entry : outbox) context.prior_actions.push_back(ToPriorAction(entry, completed));
  std::optional<Date> next = NextDecisionDate(settings_.playbook, context);
  // A notice cancelled now changes the next plan, which may send a lower notice again, so
  // the next run evaluates the student in full instead of moving it forward.
  if (stats.notices_cancelled > cancelled_before && (!next || as_of + 1 < *next)) next = as_of + 1;
  return next;
}

void TierEngine::ReviewNotices(PlanningContext& context, std::vector<OutboxEntry>& entries,
                               EngineStats& stats) {
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
      // A higher level's decision can rest on this notice (unexcused_after_notice), so the
      // notices reviewed after it see it cancelled, as the next run would.
      for (auto& prior : context.prior_actions) {
        if (prior.idempotency_key == action.idempotency_key) prior.status = outbox_status::kCancelled;
      }
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
  // Evaluate uses the calendars of the as-of date's school year, but the context needs those
  // of the notice's school year.
  std::vector<EnrolledDay> enrolled_days = EnrolledDays(found->second.enrollments, Calendars(school_year), as_of);
  std::vector<OutboxEntry> outbox = store_.LoadStudentOutbox(entry.action.student_id, school_year);
  PlanningContext context;
  BuildPlanningContext(entry.action.student_id, school_year, found->second, timeline, as_of, enrolled_days, outbox,
                       context);
  return tiersync::NoticeIneligibility(settings_.playbook, entry.action, context);
}

}  // namespace tiersync
