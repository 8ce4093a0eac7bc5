// The playbook's triggers, conditions, actions and notice checks, applied to one student
// with exact dates. Day(n) is the n-th instructional day (0-based) of a weekday calendar
// that starts on Monday 2021-08-23.

#include <gtest/gtest.h>

#include "config/config.h"
#include "rules/playbook_plan.h"
#include "tests/support/test_support.h"

namespace tiersync {

// Prints dates as YYYY-MM-DD in failure messages.
void PrintTo(const Date& date, std::ostream* out) { *out << date.ToString(); }

namespace {

using testing::TempDir;
using testing::WriteText;

Date Day(int n) {
  Date day = Date::FromYmd(2021, 8, 23);
  for (int i = 0; i < n; ++i) {
    day = day + 1;
    while (day.iso_weekday() > 5) day = day + 1;
  }
  return day;
}

// Loads a playbook from YAML text; fails the test with the loader's message otherwise.
Playbook LoadText(const std::string& yaml) {
  TempDir dir;
  WriteText(dir.File("playbook.yaml"), yaml);
  auto playbook = LoadPlaybook(dir.File("playbook.yaml"));
  EXPECT_TRUE(playbook.ok()) << (playbook.ok() ? "" : playbook.error().message);
  return playbook.ok() ? *playbook : Playbook{};
}

std::string LoadError(const std::string& yaml) {
  TempDir dir;
  WriteText(dir.File("playbook.yaml"), yaml);
  auto playbook = LoadPlaybook(dir.File("playbook.yaml"));
  return playbook.ok() ? std::string("loaded without error") : playbook.error().message;
}

const char* kNotices = R"(
notices:
  languages: [en, es]
  fallback_language: en
  templates:
    letter:
      en: "Student {student_id} missed {absent_days} of {enrolled_days} days at {school_name}."
      es: "El estudiante {student_id} faltó {absent_days} de {enrolled_days} días en {school_name}."
)";

// One student at school S1 from Day(0), with absences added by the test.
class PlanTest : public ::testing::Test {
 protected:
  PlanTest() {
    rules_ = AttendanceRules::Defaults();
    for (int n = 0; n < 120; ++n) calendars_.For("S1").Add(Day(n), kUnitsPerDay);
    calendars_.SortAll();
    enrollments_.push_back({"1001", "S1", Day(0), std::nullopt, "06"});
  }

  void Absent(int day, bool excused = false, DayUnits amount = kUnitsPerDay) {
    AbsenceDay absence;
    absence.date = Day(day);
    absence.school_id = "S1";
    absence.amount = amount;
    absence.excused = excused ? amount : 0;
    absence.unexcused = excused ? 0 : amount;
    absences_.push_back(absence);
    std::sort(absences_.begin(), absences_.end(), [](const auto& a, const auto& b) { return a.date < b.date; });
  }

  // Builds the context at `as_of` from the absences so far.
  PlanningContext& Context(Date as_of) {
    days_ = EnrolledDays(enrollments_, calendars_, as_of);
    timeline_ = BuildTimeline(days_, absences_, rules_);
    context_.student_id = "1001";
    context_.year = SchoolYear{2021};
    context_.as_of = as_of;
    context_.rules = &rules_;
    context_.timeline = &timeline_;
    context_.enrolled_days = &days_;
    context_.absence_days = &absences_;
    context_.calendar = calendars_.Find("S1");
    context_.school_id = "S1";
    context_.grade = enrollments_.front().grade;
    return context_;
  }

  std::vector<PlannedAction> Plan(const Playbook& playbook, Date as_of) {
    return PlanStudent(playbook, Context(as_of));
  }

  AttendanceRules rules_;
  CalendarSet calendars_;
  std::vector<Enrollment> enrollments_;
  std::vector<AbsenceDay> absences_;
  std::vector<EnrolledDay> days_;
  TierTimeline timeline_;
  PlanningContext context_;
};

const char* kTier2Playbook = R"(
version: "t1"
rules:
  - when: { entered_tier: 2 }
    actions:
      - { id: call, kind: contact, role: attendance_clerk, due_in_instructional_days: 3, title: "Call" }
      - { id: plan, kind: task, role: counselor, due_in_instructional_days: 10, title: "Plan" }
  - when: { left_tier_downward: 2 }
    actions:
      - { id: review, kind: task, role: counselor, due_in_instructional_days: 5, title: "Review" }
)";

// --- Triggers ---------------------------------------------------------------------------

TEST_F(PlanTest, TierEnteredPlansEachAction) {
  Playbook playbook = LoadText(kTier2Playbook);
  Absent(12);  // 1 of 13 days enrolled: 7.7%, Tier 2 at the end of Day(12)

  auto actions = Plan(playbook, Day(12));
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].action_id, "call");
  EXPECT_EQ(actions[0].kind, ActionKind::kContact);
  EXPECT_EQ(actions[0].change_date, Day(12));
  EXPECT_EQ(actions[0].due_date, Day(15));
  EXPECT_EQ(actions[0].idempotency_key, ActionKey("1001", SchoolYear{2021}, Trigger::kTierEntered, 2, 1, "call"));
  EXPECT_EQ(actions[1].action_id, "plan");
  EXPECT_EQ(actions[1].due_date, Day(22));
  EXPECT_EQ(actions[1].from_tier, 1);
  EXPECT_EQ(actions[1].to_tier, 2);
}

TEST_F(PlanTest, TierLeftDownwardPlansReview) {
  Playbook playbook = LoadText(kTier2Playbook);
  Absent(12);  // Tier 2 from Day(12); 1 of 21 days is below 5%, so Tier 1 at Day(20)

  EXPECT_EQ(Plan(playbook, Day(19)).size(), 2u);  // still the Tier 2 entry
  auto actions = Plan(playbook, Day(20));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].action_id, "review");
  EXPECT_EQ(actions[0].trigger, Trigger::kTierLeftDownward);
  EXPECT_EQ(actions[0].change_date, Day(20));
  EXPECT_EQ(actions[0].due_date, Day(25));
  EXPECT_EQ(actions[0].idempotency_key,
            ActionKey("1001", SchoolYear{2021}, Trigger::kTierLeftDownward, 2, 1, "review"));
}

const char* kConsecutivePlaybook = R"(
version: "t1"
rules:
  - when: { consecutive_absences: 3 }
    actions:
      - { id: call, kind: contact, role: attendance_clerk, due_in_instructional_days: 1, title: "Call" }
)";

TEST_F(PlanTest, ConsecutiveAbsencesFireOnTheThirdDay) {
  Playbook playbook = LoadText(kConsecutivePlaybook);
  Absent(30);
  Absent(31);
  EXPECT_TRUE(Plan(playbook, Day(31)).empty());

  Absent(32);
  auto actions = Plan(playbook, Day(32));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].change_date, Day(32));
  EXPECT_EQ(actions[0].occurrence, 1);
  EXPECT_EQ(actions[0].due_date, Day(33));
  EXPECT_EQ(actions[0].reason, "3 consecutive days absent, 2021-10-04 to 2021-10-06");
}

TEST_F(PlanTest, ConsecutiveAbsencesBrokenByHalfDay) {
  Playbook playbook = LoadText(kConsecutivePlaybook);
  Absent(30);
  Absent(31, false, kUnitsPerDay / 2);
  Absent(32);
  Absent(33);
  EXPECT_TRUE(Plan(playbook, Day(33)).empty());

  Absent(34);
  auto actions = Plan(playbook, Day(34));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].change_date, Day(34));
}

TEST_F(PlanTest, StaleAbsencePatternMakesNothing) {
  Playbook playbook = LoadText(std::string(kConsecutivePlaybook) + "safety: { stale_after_days: 5 }\n");
  Absent(30);
  Absent(31);
  Absent(32);
  EXPECT_EQ(Plan(playbook, Day(37)).size(), 1u);  // 5 instructional days later: still acts
  EXPECT_TRUE(Plan(playbook, Day(38)).empty());
}

const char* kWindowPlaybook = R"(
version: "t1"
rules:
  - when: { unexcused_in_window: { count: 2, window_days: 5 } }
    actions:
      - { id: check-in, kind: task, role: teacher, due_in_instructional_days: 3, title: "Check in" }
)";

TEST_F(PlanTest, UnexcusedWindowFiresInsideWindow) {
  Playbook playbook = LoadText(kWindowPlaybook);
  Absent(30);
  Absent(32, true);  // excused: does not count
  Absent(34);        // Day(30)..Day(34) is a window of 5 instructional days

  auto actions = Plan(playbook, Day(34));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].change_date, Day(34));
  EXPECT_EQ(actions[0].trigger_parameters, "2/5");
  EXPECT_EQ(actions[0].reason, "2 unexcused days within the 5 instructional days ending 2021-10-08");
}

TEST_F(PlanTest, UnexcusedWindowIgnoresWiderGap) {
  Playbook playbook = LoadText(kWindowPlaybook);
  Absent(30);
  Absent(35);  // six instructional days apart
  EXPECT_TRUE(Plan(playbook, Day(35)).empty());
}

const char* kAfterNoticePlaybook = R"(
version: "t1"
rules:
  - when: { unexcused_after_notice: { notice_level: 2, tier: 4 } }
    actions:
      - { id: probation-record, kind: task, role: principal, due_in_business_days: 10, title: "Send the record" }
)";

PriorAction IssuedNotice(int level, Date issued_on) {
  PriorAction notice;
  notice.idempotency_key = "notice-" + std::to_string(level);
  notice.kind = ActionKind::kNotice;
  notice.notice_level = level;
  notice.status = "delivered";
  notice.issued_on = issued_on;
  return notice;
}

TEST_F(PlanTest, UnexcusedAfterNoticeMakesProbationTask) {
  Playbook playbook = LoadText(kAfterNoticePlaybook);
  Absent(0);
  Absent(1);
  Absent(2);  // 3 of 10 days: Tier 4 from Day(9)
  Absent(12);

  PlanningContext& context = Context(Day(12));
  context.prior_actions.push_back(IssuedNotice(2, Day(11)));
  auto actions = PlanStudent(playbook, context);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].action_id, "probation-record");
  EXPECT_EQ(actions[0].change_date, Day(12));
  // Ten business days after Wednesday 2021-09-08.
  EXPECT_EQ(actions[0].due_date, Date::FromYmd(2021, 9, 22));
}

TEST_F(PlanTest, UnexcusedAfterNoticeNeedsLaterAbsence) {
  Playbook playbook = LoadText(kAfterNoticePlaybook);
  Absent(0);
  Absent(1);
  Absent(2);
  Absent(12, true);  // excused after the notice: not a reason to refer

  PlanningContext& context = Context(Day(12));
  context.prior_actions.push_back(IssuedNotice(2, Day(11)));
  EXPECT_TRUE(PlanStudent(playbook, context).empty());

  PlanningContext& without_notice = Context(Day(12));
  without_notice.prior_actions.clear();
  EXPECT_TRUE(PlanStudent(playbook, without_notice).empty());
}

const char* kReviewPlaybook = R"(
version: "t1"
rules:
  - when: { plan_review: { tier: 3, every_weeks: 1 } }
    actions:
      - { id: review, kind: task, role: attendance_team, due_in_instructional_days: 5, title: "Review" }
)";

TEST_F(PlanTest, PlanReviewEveryWeekInTier) {
  Playbook playbook = LoadText(kReviewPlaybook);
  Absent(0);
  Absent(1);  // Tier 4 at Day(9), Tier 3 from Day(10) to Day(19), Tier 2 at Day(20)

  EXPECT_TRUE(Plan(playbook, Day(14)).empty());
  auto actions = Plan(playbook, Day(15));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].change_date, Day(15));
  EXPECT_EQ(actions[0].occurrence, 1);

  // A week after Day(15) the student is in Tier 2, so no second review.
  auto later = Plan(playbook, Day(22));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].idempotency_key, actions[0].idempotency_key);
}

const char* kOverduePlaybook = R"(
version: "t1"
escalation: [teacher, counselor, principal]
rules:
  - when: { task_overdue: { grace_days: 0 } }
    actions:
      - { id: escalate, kind: task, due_in_instructional_days: 2, title: "Overdue" }
)";

PriorAction OpenTask(const std::string& key, const std::string& role, Date due) {
  PriorAction task;
  task.idempotency_key = key;
  task.kind = ActionKind::kTask;
  task.action_id = "plan";
  task.role = role;
  task.title = "Plan";
  task.school_id = "S1";
  task.status = "delivered";
  task.due_date = due;
  return task;
}

TEST_F(PlanTest, TaskOverdueEscalatesToNextRole) {
  Playbook playbook = LoadText(kOverduePlaybook);
  PlanningContext& context = Context(Day(20));
  context.prior_actions.push_back(OpenTask("k1", "counselor", Day(20)));
  EXPECT_TRUE(PlanStudent(playbook, context).empty());  // due today, not late yet

  PlanningContext& late = Context(Day(21));
  auto actions = PlanStudent(playbook, late);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].role, "principal");
  EXPECT_EQ(actions[0].title, "Overdue: Plan");
  EXPECT_EQ(actions[0].change_date, Day(21));
  EXPECT_EQ(actions[0].due_date, Day(23));
  EXPECT_EQ(actions[0].trigger_parameters, "0|k1");
}

TEST_F(PlanTest, TaskOverdueSkipsDoneAndTopRole) {
  Playbook playbook = LoadText(kOverduePlaybook);
  PlanningContext& context = Context(Day(30));
  PriorAction done = OpenTask("k1", "teacher", Day(20));
  done.completed = true;
  context.prior_actions.push_back(done);
  context.prior_actions.push_back(OpenTask("k2", "principal", Day(20)));
  EXPECT_TRUE(PlanStudent(playbook, context).empty());
}

// --- Next decision date ----------------------------------------------------------------

TEST_F(PlanTest, NextDecisionIsNextPlanReview) {
  Playbook playbook = LoadText(kReviewPlaybook);
  Absent(0);
  Absent(1);  // Tier 3 from Day(10) to Day(19)
  // Weekly reviews of the stay that began on Day(10), a Friday: Day(15), then Day(20).
  EXPECT_EQ(NextDecisionDate(playbook, Context(Day(12))), std::optional<Date>(Day(15)));
  EXPECT_EQ(NextDecisionDate(playbook, Context(Day(15))), std::optional<Date>(Day(20)));
  // In Tier 2 from Day(20): no review is due.
  EXPECT_EQ(NextDecisionDate(playbook, Context(Day(21))), std::nullopt);
}

TEST_F(PlanTest, NextDecisionIsTaskTurningOverdue) {
  Playbook playbook = LoadText(kOverduePlaybook);
  PlanningContext& context = Context(Day(18));
  context.prior_actions.push_back(OpenTask("k1", "counselor", Day(20)));
  context.prior_actions.push_back(OpenTask("k2", "teacher", Day(25)));
  // Overdue the instructional day after the due date, with no grace days.
  EXPECT_EQ(NextDecisionDate(playbook, context), std::optional<Date>(Day(21)));

  // A finished task and one at the top role make no date.
  context.prior_actions[0].completed = true;
  context.prior_actions[1].role = "principal";
  EXPECT_EQ(NextDecisionDate(playbook, context), std::nullopt);
}

TEST_F(PlanTest, NextDecisionIsHeldNoticeRelease) {
  Playbook playbook = LoadText(kTier2Playbook);
  PlanningContext& context = Context(Day(30));
  PriorAction notice;
  notice.kind = ActionKind::kNotice;
  notice.status = "held";
  notice.notice_level = 1;
  notice.hold_until = Day(33);
  context.prior_actions.push_back(notice);
  EXPECT_EQ(NextDecisionDate(playbook, context), std::optional<Date>(Day(33)));

  // Past its window it waits for a lower level, which any day may release.
  EXPECT_EQ(NextDecisionDate(playbook, Context(Day(34))), std::optional<Date>(Day(34) + 1));

  // A released notice relying on unexcused days alone is checked every day.
  context.prior_actions[0].status = "pending";
  context.prior_actions[0].basis = NoticeBasis::kUnexcused;
  EXPECT_EQ(NextDecisionDate(playbook, Context(Day(34))), std::optional<Date>(Day(34) + 1));
  context.prior_actions[0].basis = NoticeBasis::kAnyAbsence;
  EXPECT_EQ(NextDecisionDate(playbook, Context(Day(34))), std::nullopt);
}

// --- Conditions -------------------------------------------------------------------------

const char* kConditionPlaybook = R"(
version: "t1"
schools:
  S1: { name: Lincoln Elementary, level: elementary, assignees: { attendance_clerk: "Front office" } }
  S2: { level: high }
default_assignees: { counselor: "District counseling" }
rules:
  - when: { entered_tier: 2, school_level: elementary }
    actions:
      - { id: parent-call, kind: contact, role: attendance_clerk, due_in_instructional_days: 3, title: "Parent" }
  - when: { entered_tier: 2, school_level: [middle, high] }
    actions:
      - { id: parent-student-call, kind: contact, role: attendance_clerk, due_in_instructional_days: 3, title: "Both" }
  - when: { entered_tier: 2, grade: ["06"] }
    actions:
      - { id: grade-six, kind: task, role: counselor, due_in_instructional_days: 3, title: "Grade 6" }
  - when: { entered_tier: 2, school: [S2] }
    actions:
      - { id: school-two, kind: task, role: teacher, due_in_instructional_days: 3, title: "S2" }
  - when: { entered_tier: 2, min_days_enrolled: 30 }
    actions:
      - { id: long-enrolled, kind: task, role: teacher, due_in_instructional_days: 3, title: "30 days" }
  - when: { entered_tier: 2, language: [es] }
    actions:
      - { id: spanish-speaker, kind: task, role: teacher, due_in_instructional_days: 3, title: "es" }
  - when: { entered_tier: 2, last_year_tier_at_least: 3 }
    actions:
      - { id: returning, kind: task, role: counselor, due_in_instructional_days: 3, title: "Last year" }
)";

std::vector<std::string> Ids(const std::vector<PlannedAction>& actions) {
  std::vector<std::string> ids;
  for (const auto& action : actions) ids.push_back(action.action_id);
  return ids;
}

TEST_F(PlanTest, ConditionsSelectElementaryActions) {
  Playbook playbook = LoadText(kConditionPlaybook);
  Absent(12);
  auto actions = Plan(playbook, Day(12));
  EXPECT_EQ(Ids(actions), (std::vector<std::string>{"parent-call", "grade-six"}));
  EXPECT_EQ(actions[0].assignee, "Front office");
  EXPECT_EQ(actions[1].assignee, "District counseling");
}

TEST_F(PlanTest, ConditionsSelectHighSchoolActions) {
  Playbook playbook = LoadText(kConditionPlaybook);
  enrollments_.front().school_id = "S2";
  enrollments_.front().grade = "10";
  calendars_.For("S2") = *calendars_.Find("S1");
  Absent(12);
  PlanningContext& context = Context(Day(12));
  context.school_id = "S2";
  EXPECT_EQ(Ids(PlanStudent(playbook, context)), (std::vector<std::string>{"parent-student-call", "school-two"}));
}

TEST_F(PlanTest, ConditionsOnDaysLanguageAndLastYear) {
  Playbook playbook = LoadText(kConditionPlaybook);
  Absent(12);
  Absent(29);  // Tier 1 again at Day(20), Tier 2 again at Day(29): 2 of 30 days is 6.7%

  PlanningContext& context = Context(Day(29));
  context.profile = StudentProfile{"1001", "H1", "es", "06"};
  context.last_year_tier = 3;
  EXPECT_EQ(Ids(PlanStudent(playbook, context)),
            (std::vector<std::string>{"parent-call", "grade-six", "long-enrolled", "spanish-speaker", "returning"}));

  context.profile->preferred_language = "en";
  context.last_year_tier = 2;
  EXPECT_EQ(Ids(PlanStudent(playbook, context)),
            (std::vector<std::string>{"parent-call", "grade-six", "long-enrolled"}));
}

// --- Notices ----------------------------------------------------------------------------

std::string NoticePlaybook(const std::string& extra_action = "", const std::string& safety = "") {
  return std::string(R"(
version: "t1"
schools:
  S1: { name: Lincoln Elementary, level: elementary }
)") + safety + kNotices + R"(
rules:
  - when: { entered_tier: 3 }
    actions:
      - { id: tier3-notice, kind: notice, role: attendance_clerk, due_in_instructional_days: 2, title: "Notice", notice_template: letter, notice_level: 1, basis: unexcused }
  - when: { entered_tier: 4 }
    actions:
      - { id: tier4-notice, kind: notice, role: principal, due_in_instructional_days: 2, title: "Notice 4", notice_template: letter, notice_level: 2 }
)" + extra_action;
}

TEST_F(PlanTest, NoticeRenderedInPreferredLanguage) {
  Playbook playbook = LoadText(NoticePlaybook("", "safety: { excuse_window_days: 3 }\n"));
  Absent(12);
  Absent(13);  // 2 of 14 days: 14.3%, Tier 3 at Day(13)

  PlanningContext& context = Context(Day(13));
  context.profile = StudentProfile{"1001", "H1", "es", "06"};
  auto actions = PlanStudent(playbook, context);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].language, "es");
  EXPECT_EQ(actions[0].body, "El estudiante 1001 faltó 2 de 14 días en Lincoln Elementary.");
  EXPECT_EQ(actions[0].hold_until, Day(16));
  EXPECT_EQ(actions[0].notice_level, 1);
  EXPECT_EQ(actions[0].basis, NoticeBasis::kUnexcused);
}

TEST_F(PlanTest, NoticeFallsBackToEnglish) {
  Playbook playbook = LoadText(NoticePlaybook());
  Absent(12);
  Absent(13);
  PlanningContext& context = Context(Day(13));
  context.profile = StudentProfile{"1001", "H1", "vi", "06"};
  auto actions = PlanStudent(playbook, context);
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].language, "en");
  EXPECT_EQ(actions[0].body, "Student 1001 missed 2 of 14 days at Lincoln Elementary.");
  EXPECT_EQ(actions[0].hold_until, Day(13));  // no excuse window configured
}

TEST_F(PlanTest, Tier4NoticeBringsMissingTier3Notice) {
  Playbook playbook = LoadText(NoticePlaybook());
  Absent(0);
  Absent(1);
  Absent(2);  // 3 of 10 days: straight to Tier 4 at Day(9)

  auto actions = Plan(playbook, Day(9));
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].action_id, "tier3-notice");
  EXPECT_EQ(actions[0].notice_level, 1);
  EXPECT_EQ(actions[0].idempotency_key,
            ActionKey("1001", SchoolYear{2021}, Trigger::kTierEntered, 4, 1, "tier3-notice"));
  EXPECT_EQ(actions[1].action_id, "tier4-notice");
  EXPECT_EQ(actions[1].notice_level, 2);
}

TEST_F(PlanTest, Tier4NoticeAfterSentTier3Notice) {
  Playbook playbook = LoadText(NoticePlaybook());
  Absent(0);
  Absent(1);
  Absent(2);
  PlanningContext& context = Context(Day(9));
  context.prior_actions.push_back(IssuedNotice(1, Day(5)));
  EXPECT_EQ(Ids(PlanStudent(playbook, context)), (std::vector<std::string>{"tier4-notice"}));
}

TEST_F(PlanTest, UnexcusedNoticeIneligibleAfterExcusal) {
  Playbook playbook = LoadText(NoticePlaybook());
  Absent(12);
  Absent(13);
  auto actions = Plan(playbook, Day(13));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_FALSE(NoticeIneligibility(playbook, actions[0], Context(Day(13))).has_value());

  // Both absences excused: still Tier 3 (any absence counts), but not on unexcused ones.
  absences_.clear();
  Absent(12, true);
  Absent(13, true);
  auto reason = NoticeIneligibility(playbook, actions[0], Context(Day(14)));
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason, "unexcused absences alone (0 of 15 days enrolled) are below Tier 3");
}

TEST_F(PlanTest, NoticeIneligibleWhenTierDropped) {
  Playbook playbook = LoadText(NoticePlaybook());
  Absent(12);
  Absent(13);
  auto actions = Plan(playbook, Day(13));
  ASSERT_EQ(actions.size(), 1u);
  auto reason = NoticeIneligibility(playbook, actions[0], Context(Day(20)));  // 2 of 21 days: Tier 2
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(*reason, "the student is in Tier 2 now, below Tier 3");
}

// --- Versioning -------------------------------------------------------------------------

TEST_F(PlanTest, EffectiveDateSkipsEarlierDecisions) {
  Playbook playbook = LoadText(std::string(kTier2Playbook) + "effective_from: 2021-09-10\n");
  Absent(12);  // Day(12) is 2021-09-08
  EXPECT_TRUE(Plan(playbook, Day(12)).empty());

  absences_.clear();
  Absent(14);  // Day(14) is 2021-09-10
  EXPECT_EQ(Plan(playbook, Day(14)).size(), 2u);
}

// --- Loading ----------------------------------------------------------------------------

TEST(PlaybookLoad, RejectsMissingLanguage) {
  std::string error = LoadError(R"(
version: "t1"
notices:
  languages: [en, es]
  templates:
    letter: { en: "Hello {student_id}" }
rules:
  - when: { entered_tier: 3 }
    actions:
      - { id: n, kind: notice, role: principal, due_in_instructional_days: 2, title: "N", notice_template: letter }
)");
  EXPECT_NE(error.find("template 'letter' has no 'es' text"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsMissingTemplate) {
  std::string error = LoadError(std::string(R"(
version: "t1")") + kNotices + R"(
rules:
  - when: { entered_tier: 3 }
    actions:
      - { id: n, kind: notice, role: principal, due_in_instructional_days: 2, title: "N", notice_template: nope }
)");
  EXPECT_NE(error.find("no template 'nope'"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsUnknownPlaceholder) {
  std::string error = LoadError(R"(
version: "t1"
notices:
  languages: [en]
  templates:
    letter: { en: "Dear {parent_name}" }
rules: []
)");
  EXPECT_NE(error.find("unknown placeholder {parent_name}"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsNoticeLevelGap) {
  std::string error = LoadError(std::string(R"(
version: "t1")") + kNotices + R"(
rules:
  - when: { entered_tier: 4 }
    actions:
      - { id: n, kind: notice, role: principal, due_in_instructional_days: 2, title: "N", notice_template: letter, notice_level: 2 }
)");
  EXPECT_NE(error.find("none has level 1"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsTwoTriggers) {
  std::string error = LoadError(R"(
version: "t1"
rules:
  - when: { entered_tier: 2, consecutive_absences: 3 }
    actions:
      - { id: a, kind: task, role: teacher, due_in_instructional_days: 2, title: "A" }
)");
  EXPECT_NE(error.find("give exactly one trigger"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsUnknownSchoolLevel) {
  std::string error = LoadError(R"(
version: "t1"
rules:
  - when: { entered_tier: 2, school_level: junior-high }
    actions:
      - { id: a, kind: task, role: teacher, due_in_instructional_days: 2, title: "A" }
)");
  EXPECT_NE(error.find(":4:"), std::string::npos) << error;
  EXPECT_NE(error.find("'junior-high' is not one of: elementary, middle, high"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsRoleOnOverdueRule) {
  std::string error = LoadError(R"(
version: "t1"
rules:
  - when: { task_overdue: { grace_days: 1 } }
    actions:
      - { id: a, kind: task, role: teacher, due_in_instructional_days: 2, title: "A" }
)");
  EXPECT_NE(error.find("leave role out"), std::string::npos) << error;
}

TEST(PlaybookLoad, RejectsFallbackOutsideLanguages) {
  std::string error = LoadError(R"(
version: "t1"
notices:
  languages: [en, es]
  fallback_language: vi
rules: []
)");
  EXPECT_NE(error.find("'vi' is not in notices.languages"), std::string::npos) << error;
}

TEST(PlaybookLoad, DefaultPlaybookLoads) {
  auto playbook = LoadPlaybook(testing::SourcePath("config/playbook.yaml"));
  ASSERT_TRUE(playbook.ok()) << playbook.error().message;
  EXPECT_EQ(playbook->notices.languages, (std::vector<std::string>{"en", "es"}));
  EXPECT_EQ(playbook->safety.excuse_window_days, 3);
}

}  // namespace
}  // namespace tiersync
