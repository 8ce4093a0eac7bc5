#include "engine/tier_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/step_timer.h"
#include "engine/derive_pass.h"

namespace tiersync {

namespace {

// Both are kept per school year, so evaluating one year never hides a rules change from
// another year's students.
std::string FingerprintKey(int school_year) { return "rules_fingerprint:" + std::to_string(school_year); }
std::string LastAsOfKey(int school_year) { return "last_as_of:" + std::to_string(school_year); }
std::string TierCountsKey(int school_year) { return "tier_counts:" + std::to_string(school_year); }
std::string RecordedThroughKey(int school_year) { return "recorded_through:" + std::to_string(school_year); }

// recheck_on for a student with no date due: the last day a Date holds.
constexpr Date kNoRecheckDue{std::numeric_limits<int32_t>::max()};

// Students per tier as "tier=students" pairs joined by ';', for the meta table.
std::string FormatTierCounts(const std::map<int, size_t>& counts) {
  std::string text;
  for (const auto& [tier, students] : counts) {
    if (!text.empty()) text += ';';
    text += std::to_string(tier) + "=" + std::to_string(students);
  }
  return text;
}

std::optional<std::map<int, size_t>> ParseTierCounts(const std::string& text) {
  std::map<int, size_t> counts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string pair = text.substr(start, end - start);
    size_t equals = pair.find('=');
    if (equals == std::string::npos) return std::nullopt;
    try {
      counts[std::stoi(pair.substr(0, equals))] = std::stoul(pair.substr(equals + 1));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    start = end + 1;
  }
  return counts;
}

// Sets when the student must next be evaluated in full although no input changes, and
// which school's days the student accrues until then. `next_decision` is the playbook's
// next date due (NextDecisionDate).
void PlanRecheck(const std::vector<Enrollment>& enrollments, Date as_of, std::optional<Date> next_decision,
                 TierStateRow& row) {
  const Enrollment* current = nullptr;
  int covering = 0;
  std::optional<Date> recheck = next_decision;
  auto no_later_than = [&recheck](Date date) {
    if (!recheck || date < *recheck) recheck = date;
  };
  for (const auto& enrollment : enrollments) {
    if (as_of < enrollment.entry_date) {
      no_later_than(enrollment.entry_date);  // another enrollment's days begin
      continue;
    }
    if (enrollment.exit_date && *enrollment.exit_date < as_of) continue;
    current = &enrollment;
    ++covering;
  }
  // Overlapping enrollments decide day by day which school's day counts (EnrolledDays),
  // so such a student is evaluated in full at every run.
  if (covering > 1) {
    row.recheck_on = Date();
    row.accruing_school.clear();
    return;
  }
  if (current != nullptr && current->exit_date) no_later_than(*current->exit_date + 1);
  row.accruing_school = current != nullptr ? current->school_id : std::string();
  row.recheck_on = recheck.value_or(kNoRecheckDue);
}

// The units of a school's instructional days after a date up to `until`, by school and
// date: what a row left steady since its date has accrued (TierStateRow::as_of).
class AccruedUnits {
 public:
  AccruedUnits(const CalendarSet& calendars, Date until) : calendars_(calendars), until_(until) {}

  DayUnits Between(const std::string& school_id, Date after) {
    if (school_id.empty() || !(after < until_)) return 0;
    auto [found, inserted] = units_.try_emplace({school_id, after.days()}, 0);
    if (inserted) {
      if (const SchoolCalendar* calendar = calendars_.Find(school_id)) {
        auto [begin, end] = calendar->Range(after + 1, until_);
        for (auto* day = begin; day != end; ++day) found->second += day->units;
      }
    }
    return found->second;
  }

 private:
  const CalendarSet& calendars_;
  Date until_;
  std::map<std::pair<std::string, int32_t>, DayUnits> units_;
};

}  // namespace

TierEngine::TierEngine(Store& store, EngineSettings settings) : store_(store), settings_(std::move(settings)) {}

std::optional<Date> TierEngine::DateMeta(const std::string& key, const char* instead) {
  auto stored = store_.Meta(key);
  if (!stored) return std::nullopt;
  try {
    return Date(static_cast<int32_t>(std::stol(*stored)));
  } catch (const std::exception&) {
    spdlog::warn("meta key {} has the invalid value '{}' (expected a day number); {}", key, *stored, instead);
    return std::nullopt;
  }
}

std::optional<Date> TierEngine::LastAsOf(int school_year) {
  return DateMeta(LastAsOfKey(school_year), "evaluating every student");
}

std::optional<Date> TierEngine::RecordedThrough(int school_year) {
  if (auto date = DateMeta(RecordedThroughKey(school_year), "reading the latest tier change instead")) return date;
  // Stores written before the key was kept: the latest change is as late as any run reached.
  return store_.LatestActiveTierChange(school_year);
}

const CalendarSet& TierEngine::Calendars(int school_year) {
  auto found = calendars_.find(school_year);
  if (found == calendars_.end()) found = calendars_.emplace(school_year, store_.LoadCalendars(school_year)).first;
  return found->second;
}

TierEngine::Recomputed TierEngine::RecomputeDirty(EngineStats& stats) {
  // The dirty marks are read inside the transaction that clears them, so a mark another
  // process adds meanwhile is either seen here or left for the next run.
  sqlite::Transaction transaction(store_.db());
  std::vector<StudentYear> dirty = store_.WholeDirtyStudents();
  std::map<StudentYear, std::vector<Date>> dirty_days = store_.DirtyDays();
  std::map<int, std::vector<Date>> dirty_dates = store_.DirtyDates();
  std::vector<int> all_years = store_.DeriveAllYears();
  Recomputed result;
  result.whole_years = all_years;
  std::set<StudentYear>& recomputed = result.derived;
  recomputed.insert(dirty.begin(), dirty.end());
  result.changed.insert(dirty.begin(), dirty.end());
  for (const auto& [key, dates] : dirty_days) recomputed.insert(key);
  if (recomputed.empty() && dirty_dates.empty() && all_years.empty()) return result;

  // In a year derived whole, every student with events is derived in the year's pass.
  for (int year : all_years) {
    for (auto day = dirty_days.begin(); day != dirty_days.end();) {
      day = day->first.school_year == year ? dirty_days.erase(day) : std::next(day);
    }
    dirty_dates.erase(year);
  }

  // A student derived whole needs none of its days derived first.
  for (const auto& key : dirty) dirty_days.erase(key);
  if (!dirty_days.empty()) {
    RecomputeDirtyDays(dirty_days, result.changed, stats);
  } else {
    store_.ClearDirtyDays();
  }
  // After the dirty days, whose derivation removes rows of their own dates.
  RecomputeDirtyDates(dirty_dates, dirty, result, stats);
  RecomputeDirtyStudents(dirty, all_years, recomputed, stats);
  // The changed students must be evaluated in full, not extended, by the next run of
  // their school year (pending_evaluation). Their stored absence dates stay valid only
  // when every change came after the year's last run, as a new day's absences do.
  // nullopt marks a change on dates not known (an enrollment or calendar change).
  std::map<StudentYear, std::optional<std::vector<Date>>> history;
  for (const auto& key : dirty) history[key] = std::nullopt;
  for (const auto& [key, dates] : dirty_days) {
    auto last = LastAsOf(key.school_year);
    if (!last) {
      history[key] = std::nullopt;
      continue;
    }
    std::vector<Date> earlier;
    for (Date date : dates) {
      if (!(*last < date)) earlier.push_back(date);
    }
    if (!earlier.empty()) history.emplace(key, std::move(earlier));
  }
  for (const auto& [key, dates] : result.changed_before_last_run) {
    auto [entry, inserted] = history.try_emplace(key, std::vector<Date>{});
    if (entry->second) entry->second->insert(entry->second->end(), dates.begin(), dates.end());
  }
  for (const auto& key : result.changed) {
    auto found = history.find(key);
    store_.MarkPendingEvaluation(key, found == history.end() ? nullptr : &found->second);
  }
  transaction.Commit();
  return result;
}

void TierEngine::RecomputeDirtyDays(const std::map<StudentYear, std::vector<Date>>& dirty_days,
                                    std::set<StudentYear>& changed, EngineStats& stats) {
  // A day's absence depends only on that day's events, the enrollments and the calendar,
  // so deriving the dirty days' events alone gives those days' rows of a full derivation.
  std::map<StudentYear, std::vector<AttendanceEvent>> events = store_.LoadDirtyDayEvents();
  std::map<int, size_t> students_per_year;
  for (const auto& [key, dates] : dirty_days) ++students_per_year[key.school_year];
  std::map<int, std::map<std::string, std::vector<Enrollment>>> enrollments_by_year;
  for (const auto& [year, count] : students_per_year) {
    if (count >= kBulkLoadStudents) enrollments_by_year[year] = store_.LoadAllEnrollments(year);
  }

  // A student whose dirty days had no absence before and have none now, such as one
  // present on a new day, keeps the same absence days.
  std::set<StudentYear> had_absences = store_.ClearDirtyDays();
  changed.insert(had_absences.begin(), had_absences.end());
  static const std::vector<AttendanceEvent> kNoEvents;
  for (const auto& [key, dates] : dirty_days) {
    std::vector<Enrollment> enrollments;
    if (auto year = enrollments_by_year.find(key.school_year); year != enrollments_by_year.end()) {
      if (auto found = year->second.find(key.student_id); found != year->second.end()) enrollments = found->second;
    } else {
      enrollments = store_.LoadEnrollments(key.student_id, key.school_year);
    }
    auto found = events.find(key);
    const std::vector<AttendanceEvent>& day_events = found == events.end() ? kNoEvents : found->second;
    StudentAbsences absences = DeriveAbsences(enrollments, day_events, Calendars(key.school_year), settings_.rules);
    stats.kept_aside += absences.kept_aside.size();
    if (!absences.days.empty()) changed.insert(key);
    store_.InsertDerived(key, absences);
  }
}

void TierEngine::RecomputeDirtyDates(const std::map<int, std::vector<Date>>& dirty_dates,
                                     const std::vector<StudentYear>& whole_dirty, Recomputed& result,
                                     EngineStats& stats) {
  std::set<StudentYear> derived_whole_later(whole_dirty.begin(), whole_dirty.end());
  static const std::vector<Enrollment> kNoEnrollments;
  for (const auto& [year, dates] : dirty_dates) {
    std::map<std::string, std::vector<Enrollment>> enrollments = store_.LoadAllEnrollments(year);
    const CalendarSet& calendars = Calendars(year);
    StudentYear key{"", year};
    std::optional<Date> last = LastAsOf(year);
    for (Date date : dates) {
      bool before_last_run = !last || !(*last < date);
      for (auto& student_id : store_.ClearDerivedOfDate(year, date)) {
        if (before_last_run) result.changed_before_last_run[{student_id, year}].push_back(date);
        result.changed.insert({std::move(student_id), year});
      }
      // The students come in id order, as the enrollments do, so one cursor finds them.
      auto enrollment = enrollments.cbegin();
      store_.ForEachStudentOn(year, date, [&](std::vector<AttendanceEvent>& events) {
        key.student_id = events.front().student_id;
        result.derived.insert(result.derived.end(), key);
        if (derived_whole_later.count(key)) return;
        while (enrollment != enrollments.cend() && enrollment->first < key.student_id) ++enrollment;
        bool enrolled = enrollment != enrollments.cend() && enrollment->first == key.student_id;
        StudentAbsences absences =
            DeriveAbsences(enrolled ? enrollment->second : kNoEnrollments, events, calendars, settings_.rules);
        stats.kept_aside += absences.kept_aside.size();
        if (absences.days.empty() && absences.kept_aside.empty()) return;
        if (!absences.days.empty()) {
          result.changed.insert(key);
          if (before_last_run) result.changed_before_last_run[key].push_back(date);
        }
        store_.InsertDerived(key, absences);
      });
    }
  }
  store_.ClearDirtyDates();
}

void TierEngine::RecomputeDirtyStudents(const std::vector<StudentYear>& dirty, const std::vector<int>& all_years,
                                        std::set<StudentYear>& recomputed, EngineStats& stats) {
  std::map<int, std::unordered_set<std::string>> by_year;
  for (const auto& key : dirty) by_year[key.school_year].insert(key.student_id);
  for (int year : all_years) by_year[year];

  for (const auto& [year, students] : by_year) {
    bool whole_year = std::find(all_years.begin(), all_years.end(), year) != all_years.end();
    if (!whole_year && students.size() < kBulkLoadStudents) {
      for (const auto& student_id : students) {
        StudentAbsences absences = DeriveAbsences(store_.LoadEnrollments(student_id, year),
                                                  store_.LoadEvents(student_id, year), Calendars(year),
                                                  settings_.rules);
        stats.kept_aside += absences.kept_aside.size();
        store_.ReplaceDerived({student_id, year}, absences);
      }
      continue;
    }

    // Many students: clear their derived rows at once, then derive them day by day in one
    // pass over the year's events, which are stored in date order. A day's absence depends
    // only on that day's events, so deriving each student-day alone gives the same rows.
    std::map<std::string, std::vector<Enrollment>> enrollments = store_.LoadAllEnrollments(year);
    if (whole_year) {
      store_.ClearDerivedOfYear(year);
    } else {
      store_.ClearDerivedOfDirtyStudents(year);
    }
    DerivePassInput pass;
    pass.store_path = store_.db().path();
    if (!store_.write_ahead_log()) {
      pass.read_here = [this, year](Date first, Date last,
                                    const std::function<void(std::vector<AttendanceEvent>&)>& visit) {
        store_.VisitStudentDays(year, first, last, visit);
      };
    }
    pass.school_year = year;
    pass.dates = store_.EventDates(year);
    pass.enrollments = &enrollments;
    pass.only = whole_year ? nullptr : &students;
    pass.calendars = &Calendars(year);
    pass.rules = &settings_.rules;
    StudentYear key{"", year};
    auto write = [&](const std::string& student_id, const StudentAbsences& absences) {
      key.student_id = student_id;
      store_.InsertDerived(key, absences);
    };
    DerivePassResult derived = DeriveStudentDays(pass, write);
    stats.kept_aside += derived.kept_aside;
    if (whole_year) {
      // Every student with events in the year was derived again.
      for (const auto& student_id : derived.students) recomputed.insert(recomputed.end(), {student_id, year});
      store_.ClearDeriveAll(year);
    }
  }
  store_.ClearDirty(dirty);
}

StudentTier TierEngine::Evaluate(const std::string& student_id, const StudentInputs& inputs, Date as_of,
                                 TierTimeline* timeline_out, std::vector<EnrolledDay>* enrolled_days_out) {
  const CalendarSet& calendars = Calendars(settings_.year_start.YearOf(as_of).start_year);
  std::vector<EnrolledDay> days = EnrolledDays(inputs.enrollments, calendars, as_of);
  TierTimeline timeline = BuildTimeline(days, inputs.absence_days, settings_.rules);
  if (enrolled_days_out != nullptr) *enrolled_days_out = std::move(days);

  StudentTier result;
  result.student_id = student_id;
  result.totals = timeline.totals;
  result.tier = timeline.tier;
  if (const Enrollment* current = EnrollmentOn(inputs.enrollments, as_of)) {
    result.school_id = current->school_id;
  } else {
    // Withdrawn by the as-of date: report the school of the latest enrollment begun by then.
    for (const auto& enrollment : inputs.enrollments) {
      if (enrollment.entry_date <= as_of) result.school_id = enrollment.school_id;
    }
  }
  if (timeline_out != nullptr) *timeline_out = std::move(timeline);
  return result;
}

std::optional<Date> TierEngine::RecordChanges(const std::string& student_id, int school_year,
                                              const StudentInputs& inputs, const TierTimeline& timeline,
                                              const std::vector<EnrolledDay>& enrolled_days, Date as_of,
                                              EngineStats& stats) {
  // Reconcile the recorded changes up to as-of with the timeline computed now.
  std::vector<TierChangeRow> recorded = RecordedChanges(student_id, school_year);
  auto same = [](const TierChange& a, const TierChange& b) {
    return a.date == b.date && a.from_tier == b.from_tier && a.to_tier == b.to_tier;
  };
  for (const auto& row : recorded) {
    if (as_of < row.change.date) continue;  // beyond this evaluation's horizon
    bool still_there = false;
    for (const auto& change : timeline.changes) still_there = still_there || same(change, row.change);
    if (!still_there) {
      store_.SupersedeTierChange(row.id);
      ++stats.superseded;
      spdlog::info("student {}: tier change {} -> {} on {} is gone after corrected data; marked superseded",
                   student_id, row.change.from_tier, row.change.to_tier, row.change.date.ToString());
    }
  }

  int64_t latest_id = 0;
  for (const auto& change : timeline.changes) {
    int64_t id = 0;
    for (const auto& row : recorded) {
      if (!row.superseded_at && same(row.change, change)) id = row.id;
    }
    if (id == 0) {
      id = store_.InsertTierChange(student_id, school_year, change, DescribeChange(change, settings_.rules),
                                   settings_.rules.version, as_of);
      ++stats.tier_changes;
    }
    latest_id = id;
  }
  return ApplyPlaybook(student_id, school_year, inputs, timeline, enrolled_days, as_of, latest_id, stats);
}

bool TierEngine::NewDaysDecideNothing(const std::string& student_id, int school_year, const StudentInputs& inputs,
                                      const TierTimeline& timeline, const std::vector<EnrolledDay>& enrolled_days,
                                      Date last_as_of, Date as_of, const LastEvaluation& last,
                                      IssuedNotices& issued_notices) {
  // A date due (a plan review, an overdue task, a held notice's release) needs the outbox.
  if (!(as_of < last.recheck_on)) return false;
  // The last run recorded every change up to its as-of date, so only a later one is new.
  if (!timeline.changes.empty() && last_as_of < timeline.changes.back().date) return false;
  // The same days up to the last run give the same tier. A different tier means the row
  // does not match these days, so the full step runs.
  if (timeline.tier != last.tier) return false;

  const Playbook& playbook = settings_.playbook;
  PlanningContext context;
  context.as_of = as_of;
  context.rules = &settings_.rules;
  context.timeline = &timeline;
  context.enrolled_days = &enrolled_days;
  context.absence_days = &inputs.absence_days;
  for (size_t index = 0; index < playbook.rules.size(); ++index) {
    const PlaybookRule& rule = playbook.rules[index];
    switch (rule.trigger) {
      case Trigger::kConsecutiveAbsences:
      case Trigger::kUnexcusedInWindow: {
        // New days can only add decisions after the last ones, which the last run saw.
        std::vector<Decision> decisions = EvaluateTrigger(playbook, index, context);
        if (!decisions.empty() && last_as_of < decisions.back().date) return false;
        break;
      }
      case Trigger::kUnexcusedAfterNotice: {
        // The rule decides once, on the first unexcused day in its tiers after the notice
        // was issued. Only a first such day after `last_as_of` is new.
        auto qualifies = [&](const AbsenceDay& day) {
          return !(as_of < day.date) && day.unexcused > 0 && TierOn(timeline, day.date) >= rule.tier;
        };
        auto new_and_qualifying = [&](const AbsenceDay& day) { return last_as_of < day.date && qualifies(day); };
        if (std::none_of(inputs.absence_days.begin(), inputs.absence_days.end(), new_and_qualifying)) break;
        auto level = issued_notices.find(rule.notice_level);
        if (level == issued_notices.end()) {
          auto issued_by_student = store_.EarliestIssuedNotices(school_year, rule.notice_level);
          level = issued_notices.emplace(rule.notice_level, std::move(issued_by_student)).first;
        }
        auto issued = level->second.find(student_id);
        if (issued == level->second.end()) break;  // no notice of that level issued
        auto first = std::find_if(inputs.absence_days.begin(), inputs.absence_days.end(),
                                  [&](const AbsenceDay& day) { return issued->second < day.date && qualifies(day); });
        if (first != inputs.absence_days.end() && last_as_of < first->date) return false;
        break;
      }
      case Trigger::kTierEntered:
      case Trigger::kTierLeftDownward:
      case Trigger::kPlanReview:
      case Trigger::kTaskOverdue:
        break;  // no new tier change, and no date due
    }
  }
  return true;
}

std::vector<TierChangeRow> TierEngine::RecordedChanges(const std::string& student_id, int school_year) {
  if (recorded_changes_ != nullptr) {
    auto found = recorded_changes_->find(student_id);
    return found == recorded_changes_->end() ? std::vector<TierChangeRow>{} : std::move(found->second);
  }
  return store_.LoadTierChanges(student_id, school_year);
}

void TierEngine::ExtendSteadyStudents(int school_year, Date last_as_of, Date as_of, std::set<std::string>& to_evaluate,
                                      std::map<std::string, KnownAbsences>& known_absences,
                                      std::unordered_map<std::string, LastEvaluation>& last_evaluations,
                                      EngineStats& stats) {
  const CalendarSet& calendars = Calendars(school_year);
  // The units of each school's instructional days after the last as-of date, up to this one.
  std::unordered_map<std::string, std::vector<DayUnits>> new_days;
  auto days_at = [&](const std::string& school_id) -> const std::vector<DayUnits>& {
    auto [found, inserted] = new_days.try_emplace(school_id);
    if (inserted) {
      if (const SchoolCalendar* calendar = calendars.Find(school_id)) {
        auto [begin, end] = calendar->Range(last_as_of + 1, as_of);
        for (auto* day = begin; day != end; ++day) found->second.push_back(day->units);
      }
    }
    return found->second;
  };
  AccruedUnits accrued_before(calendars, last_as_of);

  size_t extended = 0;
  size_t with_new_data = to_evaluate.size();
  size_t due = 0;
  size_t tier_moved = 0;
  // Rows come in student order, so a cursor over the sorted set finds the students
  // already chosen. Inserting behind it keeps it valid.
  auto chosen = to_evaluate.cbegin();
  store_.ForEachTierState(school_year, [&](const TierStateRow& row) {
    while (chosen != to_evaluate.cend() && *chosen < row.student_id) ++chosen;
    bool chosen_already = chosen != to_evaluate.cend() && *chosen == row.student_id;
    bool evaluate = chosen_already;
    // A row dated after the last run was not written by the runs that keep rows steady.
    if (!evaluate && (last_as_of < row.as_of || !(as_of < row.recheck_on))) {
      evaluate = true;
      ++due;
    }
    // With no absence since the row's date only the enrolled days grow. The runs since
    // checked the tier at the end of each day up to the last as-of date. The new days are
    // checked here, as BuildTimeline does.
    if (!evaluate && !row.accruing_school.empty()) {
      DayUnits enrolled = row.totals.enrolled + accrued_before.Between(row.accruing_school, row.as_of);
      for (DayUnits units : days_at(row.accruing_school)) {
        enrolled += units;
        if (ClassifyTier(row.totals.absent, enrolled, settings_.rules) != row.tier) {
          evaluate = true;
          ++tier_moved;
          break;
        }
      }
    }
    if (!evaluate) {
      // The row stays as it is (see TierStateRow::as_of for how its date and days read).
      ++extended;
      return;
    }
    if (!chosen_already) to_evaluate.insert(row.student_id);
    if (last_as_of < row.as_of) return;
    // Stored up to the row's date. A student with absence days after it, up to the last
    // run, was evaluated then, and a change to an earlier day marks the student pending
    // with its dates.
    if (auto stored = store_.LoadStoredAbsenceDays(school_year, row.student_id)) {
      if (auto days = DecodeAbsenceDays(*stored)) {
        known_absences.emplace(row.student_id, KnownAbsences{std::move(*days), {}});
        last_evaluations.emplace(row.student_id, LastEvaluation{row.tier, row.recheck_on});
      }
    }
  });
  stats.extended = extended;
  spdlog::debug("school year {}: {} students moved from {} to {} by their enrolled days alone; evaluating {} in "
                "full ({} with new data, {} with a date due, {} whose tier moved)",
                SchoolYear{school_year}.Label(), extended, last_as_of.ToString(), as_of.ToString(),
                to_evaluate.size(), with_new_data, due, tier_moved);
}

std::vector<TierStateRow> TierEngine::TierStates(int school_year) {
  std::vector<TierStateRow> rows;
  std::optional<Date> last_as_of = LastAsOf(school_year);
  std::optional<AccruedUnits> accrued;
  if (last_as_of) accrued.emplace(Calendars(school_year), *last_as_of);
  store_.ForEachTierState(school_year, [&](const TierStateRow& stored) {
    TierStateRow& row = rows.emplace_back(stored);
    if (!last_as_of || !(row.as_of < *last_as_of)) return;
    row.totals.enrolled += accrued->Between(row.accruing_school, row.as_of);
    row.as_of = *last_as_of;
  });
  return rows;
}

EngineStats TierEngine::Run(Date as_of) {
  EngineStats stats;
  int school_year = settings_.year_start.YearOf(as_of).start_year;

  bool rules_changed = store_.Meta(FingerprintKey(school_year)) != settings_.rules_fingerprint;
  if (rules_changed) {
    spdlog::info("rules fingerprint changed (rules version {}); deriving every student of {} again",
                 settings_.rules.version, SchoolYear{school_year}.Label());
    store_.MarkAllDirty(school_year);
  }
  calendars_.clear();  // calendars may have changed since the last run

  StepTimer steps;
  Recomputed recomputed = RecomputeDirty(stats);
  double derive_ms = steps.Next();
  stats.recomputed = recomputed.derived.size();
  bool year_derived_whole = std::find(recomputed.whole_years.begin(), recomputed.whole_years.end(), school_year) !=
                            recomputed.whole_years.end();

  // At the same as-of date only the students derived again can change. At a later one,
  // every student's percentage moves, but for most students that only adds enrolled days
  // (ExtendSteadyStudents); the rest are evaluated in full. A rules change, an earlier
  // as-of date or a first run evaluates everyone.
  std::optional<Date> last_as_of = LastAsOf(school_year);
  bool same_as_of = last_as_of && *last_as_of == as_of;
  // After a run at an earlier as-of date than an earlier run, the tier changes recorded
  // after it stay as they were, and new data may have undone them. Only evaluating every
  // student reconciles them, until a run reaches the latest as-of date again.
  std::optional<Date> recorded_through = RecordedThrough(school_year);
  bool changes_after_last_run = last_as_of && recorded_through && *last_as_of < *recorded_through;
  bool extend = settings_.extend_steady_students && !rules_changed && !year_derived_whole && last_as_of &&
                *last_as_of < as_of && !changes_after_last_run;
  bool evaluate_all = rules_changed || year_derived_whole || (!same_as_of && !extend);

  sqlite::Transaction transaction(store_.db());
  std::set<std::string> to_evaluate;
  std::map<std::string, KnownAbsences> known_absences;
  std::unordered_map<std::string, LastEvaluation> last_evaluations;
  IssuedNotices issued_notices;
  // Pending from this run's derivation or an earlier one that did not evaluate this year.
  std::map<std::string, PendingEvaluation> pending = store_.PendingEvaluations(school_year);
  if (!evaluate_all) {
    for (const auto& [student_id, entry] : pending) to_evaluate.insert(to_evaluate.end(), student_id);
    if (!extend) {
      for (const auto& key : recomputed.derived) {
        if (key.school_year == school_year) to_evaluate.insert(key.student_id);
      }
    }
  }
  if (same_as_of && !evaluate_all && to_evaluate.size() < kBulkLoadStudents) {
    for (const auto& student_id : to_evaluate) {
      auto row = store_.LoadTierState(school_year, student_id);
      // A row dated before as-of was left steady since, with no absence after its date.
      if (!row || !row->absence_days || as_of < row->as_of) continue;
      if (auto days = DecodeAbsenceDays(*row->absence_days)) {
        known_absences.emplace(student_id, KnownAbsences{std::move(*days), {}});
      }
    }
  }
  if (extend) {
    for (auto& student_id : store_.StudentsAbsentBetween(school_year, *last_as_of + 1, as_of)) {
      to_evaluate.insert(std::move(student_id));
    }
    for (auto& student_id : store_.StudentsEnteringBetween(school_year, *last_as_of + 1, as_of)) {
      to_evaluate.insert(std::move(student_id));
    }
    ExtendSteadyStudents(school_year, *last_as_of, as_of, to_evaluate, known_absences, last_evaluations, stats);
  }
  double extend_ms = steps.Next();
  // A day changed up to the last run is read again, or every date when the changed dates
  // are not known.
  for (const auto& [student_id, entry] : pending) {
    if (entry.history_changed) last_evaluations.erase(student_id);
    auto known = known_absences.find(student_id);
    if (known == known_absences.end() || !entry.history_changed) continue;
    if (!entry.changed_dates) {
      known_absences.erase(known);
      continue;
    }
    std::vector<Date>& dates = known->second.changed_dates;
    dates = *entry.changed_dates;
    std::sort(dates.begin(), dates.end());
    dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
  }
  std::map<std::string, StudentInputs> inputs;
  if (evaluate_all) {
    inputs = store_.LoadStudentInputs(school_year);
  } else if (known_absences.empty()) {
    inputs = store_.LoadStudentInputs(school_year, &to_evaluate);
  } else {
    // Students whose absence days are known read absence_day only on changed and new dates.
    inputs = store_.LoadStudentInputsFromKnown(school_year, known_absences, last_as_of.value_or(as_of), as_of);
    std::set<std::string> others;
    for (const auto& student_id : to_evaluate) {
      if (!known_absences.count(student_id)) others.insert(student_id);
    }
    if (!others.empty()) inputs.merge(store_.LoadStudentInputs(school_year, &others));
  }

  // Evaluating many students reads their recorded changes and playbook inputs in a few
  // queries instead of several per student. Recorded changes and outbox entries, the
  // largest, are read for one chunk of students at a time to bound memory.
  // Only when the students evaluated are a large share of the year's: the chunks are
  // ranges of student ids, which take in every student between the first and the last.
  size_t year_students = 0;
  if (!evaluate_all) {
    for (const auto& [tier, students] : StoredTierCounts(school_year)) year_students += students;
  }
  bool bulk = evaluate_all || inputs.size() * kBulkShareDivisor >= year_students;
  std::unordered_map<std::string, std::vector<TierChangeRow>> all_recorded;
  YearPlaybookInputs year_inputs;
  if (bulk) {
    recorded_changes_ = &all_recorded;
    year_inputs = LoadYearPlaybookInputs(school_year);
    year_inputs_ = &year_inputs;
  }
  double inputs_ms = steps.Next();
  auto chunk_end = inputs.cbegin();
  auto load_chunk = [&](std::map<std::string, StudentInputs>::const_iterator first) {
    chunk_end = first;
    for (size_t count = 0; count < kEvaluateChunk && chunk_end != inputs.cend(); ++count) ++chunk_end;
    Store::StudentRange range{first->first, std::prev(chunk_end)->first};
    all_recorded = store_.LoadAllTierChanges(school_year, range);
    year_inputs.outboxes = store_.LoadAllStudentOutboxes(school_year, range);
  };
  struct ResetRunInputs {
    TierEngine& engine;
    ~ResetRunInputs() {
      engine.recorded_changes_ = nullptr;
      engine.year_inputs_ = nullptr;
    }
  } reset_run_inputs{*this};

  // Students per tier are kept in meta and adjusted by the students evaluated, so a run
  // that evaluates a few students does not count the whole year again.
  std::map<int, size_t> tier_counts;
  if (evaluate_all) {
    store_.DeleteTierStates(school_year);
  } else {
    tier_counts = StoredTierCounts(school_year);
  }
  auto forget_old_tier = [&](const std::string& student_id) {
    if (evaluate_all) return;
    std::optional<int> old_tier;
    if (auto last = last_evaluations.find(student_id); last != last_evaluations.end()) {
      old_tier = last->second.tier;
    } else {
      old_tier = store_.LoadTier(student_id, school_year);
    }
    if (old_tier) {
      auto found = tier_counts.find(*old_tier);
      if (found != tier_counts.end() && --found->second == 0) tier_counts.erase(found);
    }
  };
  for (auto student = inputs.cbegin(); student != inputs.cend(); ++student) {
    const auto& [student_id, student_inputs] = *student;
    if (bulk && student == chunk_end) load_chunk(student);
    bool enrolled_by_as_of = false;
    for (const auto& enrollment : student_inputs.enrollments) {
      enrolled_by_as_of = enrolled_by_as_of || enrollment.entry_date <= as_of;
    }
    forget_old_tier(student_id);
    if (!enrolled_by_as_of) {
      store_.DeleteTierState(school_year, student_id);
      continue;
    }

    TierTimeline timeline;
    std::vector<EnrolledDay> enrolled_days;
    StudentTier tier = Evaluate(student_id, student_inputs, as_of, &timeline, &enrolled_days);
    std::optional<Date> next_decision;
    auto last = last_evaluations.find(student_id);
    if (last != last_evaluations.end() &&
        NewDaysDecideNothing(student_id, school_year, student_inputs, timeline, enrolled_days, *last_as_of, as_of,
                             last->second, issued_notices)) {
      // The tier changes and the outbox stay as the last run left them, and so does the
      // next date due.
      if (last->second.recheck_on != kNoRecheckDue) next_decision = last->second.recheck_on;
      ++stats.no_new_decision;
    } else {
      next_decision = RecordChanges(student_id, school_year, student_inputs, timeline, enrolled_days, as_of, stats);
    }
    TierStateRow row{student_id, tier.tier, as_of, tier.school_id, tier.totals, settings_.rules.version};
    PlanRecheck(student_inputs.enrollments, as_of, next_decision, row);
    // Up to as-of only: a later run reads the days after this as-of date by date.
    row.absence_days = EncodeAbsenceDays(student_inputs.absence_days, as_of);
    store_.SaveTierState(school_year, row);
    ++tier_counts[tier.tier];
    ++stats.evaluated;
  }
  double evaluate_ms = steps.Next();
  // Only notices released by this run can join a household notice: those released earlier
  // at this as-of date were merged by that run, and approval keeps a notice's group.
  if (settings_.playbook.safety.one_notice_per_household && stats.notices_released > 0) {
    stats.notices_merged += store_.MergeHouseholdNotices(school_year, as_of);
  }
  // The next school year's playbook reads this year's tiers (last_year_tier_at_least).
  store_.RecheckYear(school_year + 1);
  store_.ClearPendingEvaluations(school_year);
  store_.SetMeta(LastAsOfKey(school_year), std::to_string(as_of.days()));
  Date through = recorded_through && as_of < *recorded_through ? *recorded_through : as_of;
  store_.SetMeta(RecordedThroughKey(school_year), std::to_string(through.days()));
  store_.SetMeta(FingerprintKey(school_year), settings_.rules_fingerprint);
  store_.SetMeta(TierCountsKey(school_year), FormatTierCounts(tier_counts));
  transaction.Commit();
  spdlog::debug("tier engine at {} took {:.1f} ms deriving absences, {:.1f} ms choosing students and moving the "
                "steady ones forward, {:.1f} ms reading inputs, {:.1f} ms evaluating, {:.1f} ms committing",
                as_of.ToString(), derive_ms, extend_ms, inputs_ms, evaluate_ms, steps.Next());
  stats.students_per_tier = std::move(tier_counts);
  return stats;
}

std::map<int, size_t> TierEngine::StoredTierCounts(int school_year) {
  if (auto stored = store_.Meta(TierCountsKey(school_year))) {
    if (auto counts = ParseTierCounts(*stored)) return *counts;
    spdlog::warn("meta key {} has the invalid value '{}' (expected tier=students pairs); counting tier_state again",
                 TierCountsKey(school_year), *stored);
  }
  // Stores written before the counts were kept, or with a damaged entry: count once.
  std::map<int, size_t> counts;
  auto per_tier = store_.db().Prepare("SELECT tier, COUNT(*) FROM tier_state WHERE school_year = ? GROUP BY tier");
  per_tier.Bind(1, school_year);
  while (per_tier.Step()) counts[static_cast<int>(per_tier.Int(0))] = static_cast<size_t>(per_tier.Int(1));
  return counts;
}

std::vector<StudentTier> TierEngine::ComputeTiers(Date as_of) {
  int school_year = settings_.year_start.YearOf(as_of).start_year;
  std::map<std::string, StudentInputs> inputs = store_.LoadStudentInputs(school_year);

  // Derive in memory what the store has not derived yet, so the result reflects every record.
  bool rules_changed = store_.Meta(FingerprintKey(school_year)) != settings_.rules_fingerprint;
  std::set<std::string> dirty;
  for (const auto& key : store_.DirtyStudents()) {
    if (key.school_year == school_year) dirty.insert(key.student_id);
  }
  for (auto& [student_id, student_inputs] : inputs) {
    if (!rules_changed && !dirty.count(student_id)) continue;
    auto events = store_.LoadEvents(student_id, school_year);
    student_inputs.absence_days =
        DeriveAbsences(student_inputs.enrollments, events, Calendars(school_year), settings_.rules).days;
  }

  std::vector<StudentTier> tiers;
  for (const auto& [student_id, student_inputs] : inputs) {
    bool enrolled_by_as_of = false;
    for (const auto& enrollment : student_inputs.enrollments) {
      enrolled_by_as_of = enrolled_by_as_of || enrollment.entry_date <= as_of;
    }
    if (enrolled_by_as_of) tiers.push_back(Evaluate(student_id, student_inputs, as_of, nullptr));
  }
  return tiers;
}

}  // namespace tiersync
