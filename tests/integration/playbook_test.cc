// The playbook through the whole cycle: CSV sources, the store, the tier engine and the
// file sink, with a small synthetic district whose absences each test writes. Day(n) is the
// n-th instructional day (0-based) of a weekday calendar from Monday 2021-08-23.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "config/config.h"
#include "connectors/file/file_sink.h"
#include "daemon/cycle.h"
#include "store/schema.h"
#include "tests/support/test_support.h"

namespace tiersync {

void PrintTo(const Date& date, std::ostream* out) { *out << date.ToString(); }

namespace {

using testing::TempDir;
using testing::WriteText;

Date NthWeekday(Date first, int n) {
  Date day = first;
  for (int i = 0; i < n; ++i) {
    day = day + 1;
    while (day.iso_weekday() > 5) day = day + 1;
  }
  return day;
}

Date Day(int n) { return NthWeekday(Date::FromYmd(2021, 8, 23), n); }
Date NextYearDay(int n) { return NthWeekday(Date::FromYmd(2022, 8, 22), n); }

// The playbook the tests run: one notice per tier above 2, each entering-tier rule with a
// task, and a review when the tier drops. Safety settings come from the test.
std::string TestPlaybook(const std::string& safety, const std::string& version = "v1",
                         const std::string& extra = "") {
  return "version: \"" + version + "\"\n" + safety + R"(
notices:
  languages: [en, es]
  fallback_language: en
  templates:
    early-intervention:
      en: "Student {student_id} has {absent_days} days of absence in {enrolled_days} days at {school_name}."
      es: "El estudiante {student_id} tiene {absent_days} días de ausencia en {enrolled_days} días en {school_name}."
rules:
  - when: { entered_tier: 2 }
    actions:
      - { id: tier2-plan, kind: task, role: counselor, due_in_instructional_days: 10, title: "Prevention plan" }
  - when: { entered_tier: 3 }
    actions:
      - { id: tier3-notice, kind: notice, role: attendance_clerk, due_in_instructional_days: 2, title: "Tier 3 notice", notice_template: early-intervention, notice_level: 1, basis: unexcused }
      - { id: tier3-plan, kind: task, role: attendance_team, due_in_instructional_days: 10, title: "Early Intervention Plan" }
  - when: { entered_tier: 4 }
    actions:
      - { id: tier4-notice, kind: notice, role: principal, due_in_instructional_days: 2, title: "Tier 4 notice", notice_template: early-intervention, notice_level: 2 }
  - when: { left_tier_downward: 3 }
    actions:
      - { id: tier3-plan-review, kind: task, role: attendance_team, due_in_instructional_days: 5, title: "Review the plan and recognise progress" }
)" + extra;
}

struct Absence {
  std::string student_id;
  Date date;
  bool excused = false;
};

// A district of two schools: S1 elementary, S2 high.
class PlaybookDistrict {
 public:
  explicit PlaybookDistrict(const std::string& playbook) {
    std::string calendar = "school_id,date\n";
    for (const char* school : {"S1", "S2"}) {
      for (int n = 0; n < 170; ++n) calendar += std::string(school) + "," + Day(n).ToString() + "\n";
      for (int n = 0; n < 170; ++n) calendar += std::string(school) + "," + NextYearDay(n).ToString() + "\n";
    }
    WriteText(dir_.File("calendar.csv"), calendar);
    WriteText(dir_.File("students.csv"), "student_id,household_id,preferred_language,grade\n");
    SetPlaybook(playbook);
  }

  void SetPlaybook(const std::string& playbook) { WriteText(dir_.File("playbook.yaml"), playbook); }

  void Enroll(const std::string& student_id, const std::string& school_id, Date entry,
              const std::string& household = "", const std::string& language = "en") {
    enrollments_ += student_id + "," + school_id + "," + entry.ToString() + ",\n";
    students_ += student_id + "," + household + "," + language + ",\n";
  }

  void SetAbsences(const std::vector<Absence>& absences) {
    std::string text = "student_id,date,code\n";
    for (const auto& absence : absences) {
      text += absence.student_id + "," + absence.date.ToString() + "," +
              (absence.excused ? "Excused Absence" : "Unexcused Absence") + "\n";
    }
    WriteText(dir_.File("attendance.csv"), text);
  }

  Config LoadedConfig() {
    WriteText(dir_.File("enrollments.csv"), "student_id,school_id,entry_date,exit_date\n" + enrollments_);
    WriteText(dir_.File("students.csv"), "student_id,household_id,preferred_language,grade\n" + students_);
    WriteText(dir_.File("tiersync.yaml"), R"(store:
  path: )" + dir_.File("tiersync.db") + R"(
rules:
  version: "rules-1"
playbook: playbook.yaml
schools:
  S1: { name: Lincoln Elementary, level: elementary }
  S2: { name: Valley High, level: high }
sources:
  - { name: calendar, type: csv, kind: calendar, paths: [calendar.csv] }
  - { name: enrollments, type: csv, kind: enrollments, paths: [enrollments.csv] }
  - { name: attendance, type: csv, kind: attendance, paths: [attendance.csv] }
  - { name: students, type: csv, kind: students, paths: [students.csv] }
sink:
  type: file
  directory: out
  formats: [csv]
)");
    auto config = LoadConfig(dir_.File("tiersync.yaml"));
    EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
    return *config;
  }

  Store& store() {
    if (!store_) {
      auto opened = Store::Open(dir_.File("tiersync.db"));
      EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
      store_ = std::move(opened).value();
    }
    return *store_;
  }

  CycleSummary Sync(Date as_of) {
    Config config = LoadedConfig();
    auto summary = RunCycle(config, store(), as_of, 1'700'000'000);
    EXPECT_TRUE(summary.ok()) << (summary.ok() ? "" : summary.error().message);
    return summary.ok() ? *summary : CycleSummary{};
  }

  std::vector<OutboxEntry> Outbox(const std::string& action_id) {
    std::vector<OutboxEntry> found;
    for (const auto& entry : store().ListOutbox("", 100000)) {
      if (entry.action.action_id == action_id) found.push_back(entry);
    }
    return found;
  }

  // Every line the file sink wrote, over all batches.
  std::string SinkOutput() {
    std::string all;
    std::error_code error;
    if (!std::filesystem::exists(dir_.File("out"), error)) return all;
    for (const auto& file : std::filesystem::directory_iterator(dir_.File("out"))) {
      all += testing::ReadText(file.path().string());
    }
    return all;
  }

  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string enrollments_;
  std::string students_;
  std::unique_ptr<Store> store_;
};

const char* kWindowSafety = "safety: { excuse_window_days: 3 }\n";

// --- The excuse window and the re-check -------------------------------------------------

TEST(PlaybookCycle, ExcusalInsideWindowCancelsNotice) {
  PlaybookDistrict district(TestPlaybook(kWindowSafety));
  district.Enroll("2001", "S1", Day(0));
  district.SetAbsences({{"2001", Day(12)}, {"2001", Day(13)}});  // 2 of 14 days: Tier 3 at Day(13)

  district.Sync(Day(13));
  auto notices = district.Outbox("tier3-notice");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].status, "held");
  EXPECT_EQ(notices[0].action.hold_until, Day(16));
  EXPECT_EQ(notices[0].status_reason, "excuse window: held until 2021-09-14");

  // The family sends notes for both days; the school records them on Day(15).
  district.SetAbsences({{"2001", Day(12), true}, {"2001", Day(13), true}});
  district.Sync(Day(15));
  for (int day = 16; day <= 18; ++day) district.Sync(Day(day));

  notices = district.Outbox("tier3-notice");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].status, "cancelled");
  EXPECT_EQ(notices[0].status_reason, "unexcused absences alone (0 of 16 days enrolled) are below Tier 3");
  EXPECT_FALSE(notices[0].issued_on.has_value());
  EXPECT_EQ(district.SinkOutput().find("tier3-notice"), std::string::npos);
  // The tasks of the tier change still went out: the student is in Tier 3 on any absence.
  EXPECT_EQ(district.Outbox("tier3-plan").size(), 1u);
}

TEST(PlaybookCycle, TierDropAfterNoticeMakesReview) {
  PlaybookDistrict district(TestPlaybook(kWindowSafety));
  district.Enroll("2001", "S1", Day(0));
  district.SetAbsences({{"2001", Day(12)}, {"2001", Day(13)}});
  for (int day = 13; day <= 16; ++day) district.Sync(Day(day));

  auto notices = district.Outbox("tier3-notice");
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].status, "delivered");
  EXPECT_EQ(notices[0].issued_on, Day(16));
  EXPECT_NE(district.SinkOutput().find("tier3-notice"), std::string::npos);

  // Excused after the window: the notice has gone out and stays as it was.
  district.SetAbsences({{"2001", Day(12), true}, {"2001", Day(13), true}});
  for (int day = 17; day <= 20; ++day) district.Sync(Day(day));
  EXPECT_EQ(district.Outbox("tier3-notice")[0].status, "delivered");

  // 2 of 21 days is below 10%: Tier 2 from Day(20), so the plan is reviewed.
  auto reviews = district.Outbox("tier3-plan-review");
  ASSERT_EQ(reviews.size(), 1u);
  EXPECT_EQ(reviews[0].action.trigger, Trigger::kTierLeftDownward);
  EXPECT_EQ(reviews[0].action.change_date, Day(20));
  EXPECT_EQ(reviews[0].action.due_date, Day(25));
  EXPECT_EQ(reviews[0].action.idempotency_key,
            ActionKey("2001", SchoolYear{2021}, Trigger::kTierLeftDownward, 3, 1, "tier3-plan-review"));
  EXPECT_EQ(reviews[0].status, "delivered");
}

TEST(PlaybookCycle, RecheckRightBeforeDelivery) {
  PlaybookDistrict district(TestPlaybook("safety: { excuse_window_days: 0, staff_approval: true }\n"));
  district.Enroll("2001", "S1", Day(0));
  district.SetAbsences({{"2001", Day(12)}, {"2001", Day(13)}});
  district.Sync(Day(13));
  auto notice = district.Outbox("tier3-notice").at(0);
  ASSERT_EQ(notice.status, "awaiting_approval");
  ASSERT_TRUE(district.store().ApproveNotice(notice.action.idempotency_key, Day(14)).ok());

  // The excusal arrives after the approval; only the delivery step runs before the check.
  district.SetAbsences({{"2001", Day(12), true}, {"2001", Day(13), true}});
  Config config = district.LoadedConfig();
  for (const auto& source_config : config.sources) {
    auto snapshots = MakeSource(source_config)->Read(
        [&](const std::string& origin) { return district.store().Cursor(origin); });
    ASSERT_TRUE(snapshots.ok());
    for (const auto& snapshot : *snapshots) district.store().ApplySnapshot(snapshot, config.engine.year_start);
  }
  TierEngine engine(district.store(), config.engine);
  FileSink sink(*config.file_sink);
  auto check = [&](const OutboxEntry& entry) { return engine.NoticeIneligibility(entry, Day(14)); };
  DeliveryStats stats = DeliverOutbox(district.store(), sink, DeliveryPolicy{}, 1'700'000'000,
                                      [](int64_t) { return int64_t{0}; }, check);

  EXPECT_EQ(stats.cancelled, 1u);
  notice = district.Outbox("tier3-notice").at(0);
  EXPECT_EQ(notice.status, "cancelled");
  EXPECT_EQ(notice.status_reason, "unexcused absences alone (0 of 15 days enrolled) are below Tier 3");
  EXPECT_EQ(district.SinkOutput().find("tier3-notice"), std::string::npos);
}

// --- Approval, households, notice order ---------------------------------------------------

TEST(PlaybookCycle, StaffApprovalGatesNotice) {
  PlaybookDistrict district(TestPlaybook("safety: { staff_approval: true }\n"));
  district.Enroll("2001", "S1", Day(0));
  district.SetAbsences({{"2001", Day(12)}, {"2001", Day(13)}});
  district.Sync(Day(13));
  district.Sync(Day(14));
  auto notice = district.Outbox("tier3-notice").at(0);
  EXPECT_EQ(notice.status, "awaiting_approval");
  EXPECT_EQ(district.SinkOutput().find("tier3-notice"), std::string::npos);

  EXPECT_FALSE(district.store().ApproveNotice("no-such-key", Day(14)).ok());
  ASSERT_TRUE(district.store().ApproveNotice(notice.action.idempotency_key, Day(14)).ok());
  district.Sync(Day(15));
  EXPECT_EQ(district.Outbox("tier3-notice").at(0).status, "delivered");
  EXPECT_NE(district.SinkOutput().find("tier3-notice"), std::string::npos);
}

TEST(PlaybookCycle, ApproveThroughCommandLine) {
  PlaybookDistrict district(TestPlaybook("safety: { staff_approval: true }\n"));
  district.Enroll("2001", "S1", Day(0));
  district.SetAbsences({{"2001", Day(12)}, {"2001", Day(13)}});
  district.Sync(Day(13));
  std::string key = district.Outbox("tier3-notice").at(0).action.idempotency_key;
  std::string config = district.dir().File("tiersync.yaml");

  auto listed = testing::RunCommand(testing::TiersyncBinary() + " outbox list --config " + config +
                                    " --status awaiting_approval 2>&1");
  EXPECT_EQ(listed.status, 0) << listed.output;
  EXPECT_NE(listed.output.find(",awaiting_approval,0,notice,tier3-notice,2001,S1,3,2021-09-13," + key + ","),
            std::string::npos)
      << listed.output;

  auto approved = testing::RunCommand(testing::TiersyncBinary() + " approve --config " + config + " --key " + key +
                                      " --on 2021-09-10 2>&1");
  EXPECT_EQ(approved.status, 0) << approved.output;
  auto again = testing::RunCommand(testing::TiersyncBinary() + " approve --config " + config + " --key " + key +
                                   " --on 2021-09-10 2>&1");
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.output.find("no notice with key " + key + " awaits approval"), std::string::npos) << again.output;

  district.Sync(Day(14));
  EXPECT_EQ(district.Outbox("tier3-notice").at(0).status, "delivered");
}

TEST(PlaybookCycle, SiblingsShareOneNotice) {
  PlaybookDistrict district(TestPlaybook("safety: { one_notice_per_household: true }\n"));
  district.Enroll("3001", "S1", Day(0), "H7", "es");
  district.Enroll("3002", "S2", Day(0), "H7", "es");
  district.Enroll("3003", "S2", Day(0), "H8", "en");
  district.SetAbsences({{"3001", Day(12)}, {"3001", Day(13)}, {"3002", Day(12)}, {"3002", Day(13)},
                        {"3003", Day(12)}, {"3003", Day(13)}});
  district.Sync(Day(13));

  auto notices = district.Outbox("tier3-notice");
  ASSERT_EQ(notices.size(), 3u);
  EXPECT_EQ(notices[0].action.student_id, "3001");
  EXPECT_EQ(notices[0].status, "delivered");
  EXPECT_EQ(notices[0].household_students, "3001;3002");
  EXPECT_EQ(notices[0].action.language, "es");
  EXPECT_EQ(notices[0].action.body, "El estudiante 3001 tiene 2 días de ausencia en 14 días en Lincoln Elementary.");
  EXPECT_EQ(notices[1].action.student_id, "3002");
  EXPECT_EQ(notices[1].status, "merged");
  EXPECT_EQ(notices[1].status_reason, "covered by the household notice, outbox entry " + std::to_string(notices[0].id));
  EXPECT_EQ(notices[2].action.student_id, "3003");
  EXPECT_EQ(notices[2].status, "delivered");
  EXPECT_EQ(notices[2].household_students, "");
}

TEST(PlaybookCycle, Tier4NoticeFollowsTier3Notice) {
  PlaybookDistrict district(TestPlaybook(""));
  district.Enroll("4001", "S1", Day(0));
  district.SetAbsences({{"4001", Day(0)}, {"4001", Day(1)}, {"4001", Day(2)}});  // Tier 4 at Day(9)
  district.Sync(Day(9));

  auto tier3 = district.Outbox("tier3-notice");
  auto tier4 = district.Outbox("tier4-notice");
  ASSERT_EQ(tier3.size(), 1u);
  ASSERT_EQ(tier4.size(), 1u);
  EXPECT_LT(tier3[0].id, tier4[0].id);
  EXPECT_EQ(tier3[0].status, "delivered");
  EXPECT_EQ(tier4[0].status, "delivered");
  EXPECT_EQ(tier3[0].action.idempotency_key,
            ActionKey("4001", SchoolYear{2021}, Trigger::kTierEntered, 4, 1, "tier3-notice"));
}

TEST(PlaybookCycle, Tier4NoticeWaitsForTier3Approval) {
  PlaybookDistrict district(TestPlaybook("safety: { staff_approval: true }\n"));
  district.Enroll("4001", "S1", Day(0));
  district.SetAbsences({{"4001", Day(0)}, {"4001", Day(1)}, {"4001", Day(2)}});  // Tier 4 at Day(9)
  district.Sync(Day(9));
  auto tier3 = district.Outbox("tier3-notice").at(0);
  auto tier4 = district.Outbox("tier4-notice").at(0);
  EXPECT_EQ(tier3.status, "awaiting_approval");
  EXPECT_EQ(tier4.status, "held");
  EXPECT_EQ(tier4.status_reason, "waiting for the level 1 notice");

  ASSERT_TRUE(district.store().ApproveNotice(tier3.action.idempotency_key, Day(10)).ok());
  district.Sync(Day(10));
  EXPECT_EQ(district.Outbox("tier3-notice").at(0).status, "delivered");
  EXPECT_EQ(district.Outbox("tier4-notice").at(0).status, "awaiting_approval");
}

TEST(PlaybookCycle, CompletedTaskDoesNotEscalate) {
  PlaybookDistrict district(TestPlaybook("escalation: [counselor, principal]\n", "v1", R"(
  - when: { task_overdue: { grace_days: 0 } }
    actions:
      - { id: escalate, kind: task, due_in_instructional_days: 2, title: "Overdue" }
)"));
  district.Enroll("7001", "S1", Day(0));
  district.Enroll("7002", "S1", Day(0));
  district.SetAbsences({{"7001", Day(12)}, {"7002", Day(12)}});  // Tier 2 at Day(12)
  district.Sync(Day(12));
  auto plans = district.Outbox("tier2-plan");
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].action.due_date, Day(22));
  ASSERT_TRUE(district.store().CompleteTask(plans[0].action.idempotency_key, Day(21)).ok());
  EXPECT_FALSE(district.store().CompleteTask("no-such-key", Day(21)).ok());

  district.Sync(Day(23));
  auto escalations = district.Outbox("escalate");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].action.student_id, "7002");
  EXPECT_EQ(escalations[0].action.role, "principal");
  EXPECT_EQ(escalations[0].action.title, "Overdue: Prevention plan");
  EXPECT_EQ(escalations[0].action.change_date, Day(23));
  EXPECT_EQ(escalations[0].action.due_date, Day(25));
}

TEST(PlaybookStore, MigratesVersionOneOutbox) {
  TempDir dir;
  {
    sqlite::Database db(dir.File("old.db"), true);
    db.Exec(SchemaMigrations()[0]);
    db.Exec("PRAGMA user_version = 1");
    db.Exec("INSERT INTO tier_change (id, student_id, school_year, change_date, from_tier, to_tier, occurrence, "
            "reason, rules_version, recorded_as_of, recorded_at) VALUES (1, '8001', 2021, 18900, 1, 2, 1, 'r', "
            "'old', 18900, 'x')");
    db.Exec("INSERT INTO outbox (idempotency_key, tier_change_id, kind, action_id, role, title, notice_template, "
            "student_id, school_id, school_year, trigger_name, from_tier, to_tier, change_date, due_date, reason, "
            "rules_version, status, created_at) VALUES ('k1', 1, 'task', 'plan', 'counselor', 'Plan', '', '8001', "
            "'S1', 2021, 'tier_entered', 1, 2, 18900, 18910, 'r', 'old', 'delivered', 'x')");
  }
  auto store = Store::Open(dir.File("old.db"));
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->SchemaVersion(), static_cast<int>(SchemaMigrations().size()));
  auto entries = (*store)->LoadStudentOutbox("8001", 2021);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].action.idempotency_key, "k1");
  EXPECT_EQ(entries[0].status, "delivered");
  EXPECT_EQ(entries[0].action.trigger_parameters, "2");
  EXPECT_EQ(entries[0].action.trigger, Trigger::kTierEntered);
  EXPECT_EQ(entries[0].rules_version, "old");
}

// The engine reads these per school year when it evaluates every student, and per student
// otherwise, so both must return the same rows.
TEST(PlaybookStore, YearLoadsMatchStudentLoads) {
  PlaybookDistrict district(TestPlaybook(""));
  district.Enroll("7001", "S1", Day(0), "H1", "es");
  district.Enroll("7002", "S2", Day(0));
  district.Enroll("7003", "S1", Day(0));
  // At Day(13), 7001 is in Tier 2 and 7002 in Tier 3.
  district.SetAbsences({{"7001", Day(12)}, {"7002", Day(12)}, {"7002", Day(13)}});
  district.Sync(Day(13));
  Store& store = district.store();
  std::string plan_key = ActionKey("7001", SchoolYear{2021}, Trigger::kTierEntered, 2, 1, "tier2-plan");
  ASSERT_TRUE(store.CompleteTask(plan_key, Day(13)).ok());

  auto outboxes = store.LoadAllStudentOutboxes(2021);
  EXPECT_EQ(outboxes.size(), 2u);
  ASSERT_EQ(outboxes["7001"].size(), 1u);
  EXPECT_EQ(outboxes["7001"][0].action.idempotency_key, plan_key);
  ASSERT_EQ(outboxes["7002"].size(), 2u);
  EXPECT_EQ(outboxes["7002"][0].action.action_id, "tier3-notice");
  EXPECT_EQ(outboxes["7002"][1].action.action_id, "tier3-plan");
  for (const char* student : {"7001", "7002"}) {
    auto student_outbox = store.LoadStudentOutbox(student, 2021);
    ASSERT_EQ(student_outbox.size(), outboxes[student].size()) << student;
    for (size_t i = 0; i < student_outbox.size(); ++i) {
      EXPECT_EQ(outboxes[student][i].id, student_outbox[i].id) << student;
      EXPECT_EQ(outboxes[student][i].status, student_outbox[i].status) << student;
    }
  }
  EXPECT_TRUE(store.LoadAllStudentOutboxes(2022).empty());

  auto completed = store.AllCompletedTasks(2021);
  EXPECT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed["7001"], std::set<std::string>{plan_key});
  EXPECT_EQ(store.CompletedTasks("7001", 2021), completed["7001"]);
  EXPECT_TRUE(store.AllCompletedTasks(2022).empty());

  auto profiles = store.LoadAllStudentProfiles();
  EXPECT_EQ(profiles.size(), 3u);
  EXPECT_EQ(profiles["7001"].student_id, "7001");
  EXPECT_EQ(profiles["7001"].household_id, "H1");
  EXPECT_EQ(profiles["7001"].preferred_language, "es");
  EXPECT_EQ(profiles["7002"].household_id, "");
  EXPECT_EQ(profiles["7002"].preferred_language, "en");
  auto one_profile = store.LoadStudentProfile("7001");
  ASSERT_TRUE(one_profile.has_value());
  EXPECT_EQ(one_profile->household_id, "H1");
  EXPECT_EQ(one_profile->preferred_language, "es");
}

TEST(PlaybookStore, DeleteTierStateRemovesOneStudent) {
  PlaybookDistrict district(TestPlaybook(""));
  district.Enroll("7001", "S1", Day(0));
  district.Enroll("7002", "S1", Day(0));
  district.SetAbsences({{"7001", Day(12)}});  // Tier 2
  district.Sync(Day(13));
  Store& store = district.store();
  ASSERT_EQ(store.LoadTier("7001", 2021), 2);
  ASSERT_EQ(store.LoadTier("7002", 2021), 1);

  store.DeleteTierState(2021, "7002");
  EXPECT_EQ(store.LoadTier("7002", 2021), std::nullopt);
  EXPECT_EQ(store.LoadTier("7001", 2021), 2);
}

// --- School years and versions ------------------------------------------------------------

TEST(PlaybookCycle, NewYearStartsFreshKnowingLastTier) {
  PlaybookDistrict district(TestPlaybook("", "v1", R"(
  - when: { entered_tier: 2, last_year_tier_at_least: 3 }
    actions:
      - { id: returning-check-in, kind: task, role: counselor, due_in_instructional_days: 3, title: "Last year's plan" }
)"));
  district.Enroll("5001", "S1", Day(0));
  district.Enroll("5001", "S1", NextYearDay(0));
  std::vector<Absence> absences;
  for (int day = 12; day < 32; ++day) absences.push_back({"5001", Day(day)});  // 20 of 170 days: Tier 3
  absences.push_back({"5001", NextYearDay(12)});
  district.SetAbsences(absences);
  district.Sync(Day(13));
  district.Sync(Day(169));
  EXPECT_EQ(district.store().LoadTier("5001", 2021), 3);

  auto summary = district.Sync(NextYearDay(12));  // 1 of 13 days in the new year: Tier 2
  EXPECT_EQ(district.store().LoadTier("5001", 2022), 2);
  auto returning = district.Outbox("returning-check-in");
  ASSERT_EQ(returning.size(), 1u);
  EXPECT_EQ(returning[0].action.school_year.start_year, 2022);
  EXPECT_EQ(returning[0].action.change_date, NextYearDay(12));
  // A plain Tier 2 entry in the new year gets the same key scheme, separate from last year.
  auto plans = district.Outbox("tier2-plan");
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].action.idempotency_key,
            ActionKey("5001", SchoolYear{2022}, Trigger::kTierEntered, 2, 1, "tier2-plan"));
}

TEST(PlaybookCycle, ChangedPlaybookAppliesFromEffectiveDate) {
  PlaybookDistrict district(TestPlaybook(""));
  district.Enroll("6001", "S1", Day(0));
  district.Enroll("6002", "S1", Day(0));
  district.SetAbsences({{"6001", Day(12)}, {"6002", Day(12)}, {"6002", Day(30)}});
  district.Sync(Day(12));  // both enter Tier 2 under v1
  auto v1 = district.Outbox("tier2-plan");
  ASSERT_EQ(v1.size(), 2u);
  EXPECT_EQ(v1[0].rules_version, "rules-1+v1");

  // v2 adds a contact for Tier 2 from 2021-10-01 (Day(29)) on.
  district.SetPlaybook(TestPlaybook("effective_from: 2021-10-01\n", "v2", R"(
  - when: { entered_tier: 2 }
    actions:
      - { id: tier2-call, kind: contact, role: attendance_clerk, due_in_instructional_days: 2, title: "Call" }
)"));
  for (int day = 13; day <= 30; ++day) district.Sync(Day(day));

  // 6001's Tier 2 entry predates v2: nothing new. 6002 left Tier 2 and re-entered on Day(30).
  auto calls = district.Outbox("tier2-call");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].action.student_id, "6002");
  EXPECT_EQ(calls[0].action.change_date, Day(30));
  EXPECT_EQ(calls[0].rules_version, "rules-1+v2");
  auto plans = district.Outbox("tier2-plan");
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(plans[0].rules_version, "rules-1+v1");  // earlier decisions stay as they were
  EXPECT_EQ(plans[2].rules_version, "rules-1+v2");
}

}  // namespace
}  // namespace tiersync
