// End to end on the Grand Bend sample: real files, a real SQLite store, the tier engine and
// the file sink, run in-process through RunCycle.

#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/cycle.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;

Date D(const char* text) { return *Date::Parse(text); }

class GrandBend : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = LoadConfig(testing::WriteGrandBendConfig(dir_, extra_sources_));
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    config_ = std::move(*loaded);
    auto opened = Store::Open(config_.store_path);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }

  CycleSummary Sync(const char* as_of) { return Sync(D(as_of)); }
  CycleSummary Sync(Date as_of) {
    auto summary = RunCycle(config_, *store_, as_of, 1700000000);
    EXPECT_TRUE(summary.ok()) << summary.error().message;
    return summary.ok() ? *summary : CycleSummary{};
  }

  int64_t Count(const std::string& sql) {
    auto statement = store_->db().Prepare(sql);
    statement.Step();
    return statement.Int(0);
  }

  TempDir dir_;
  std::string extra_sources_;
  Config config_;
  std::unique_ptr<Store> store_;
};

TEST_F(GrandBend, TiersAtTheEndOfTheYear) {
  CycleSummary summary = Sync("2022-05-27");
  EXPECT_EQ(summary.engine.recomputed, 227u);
  EXPECT_EQ(summary.engine.evaluated, 227u);
  EXPECT_EQ(summary.engine.students_per_tier[1], 131u);
  EXPECT_EQ(summary.engine.students_per_tier[2], 52u);
  EXPECT_EQ(summary.engine.students_per_tier[3], 44u);
  EXPECT_EQ(summary.engine.students_per_tier[4], 0u);
  EXPECT_EQ(summary.RecordsRead(), 507u + 227u + 6u + 1917u + 66u);
  EXPECT_EQ(summary.rejected_total, 0u);

  // The Sunday events (three daily tardies and their three class-period tardies) are kept
  // aside; nothing else is.
  auto kept = store_->ListKeptAside(2021);
  ASSERT_EQ(kept.size(), 6u);
  for (const auto& row : kept) {
    EXPECT_EQ(row.reason, "non_instructional_day");
    EXPECT_EQ(row.date, D("2022-05-15"));
  }

  // Student 604822's Excused Absence and Partial on 2021-12-15 count once, as one
  // excused day.
  auto inputs = store_->LoadStudentInputs(2021, nullptr);
  const auto& days = inputs.at("604822").absence_days;
  ASSERT_EQ(days.size(), 4u);
  EXPECT_EQ(days[2].date, D("2021-12-15"));
  EXPECT_EQ(days[2].amount, kUnitsPerDay);
  EXPECT_EQ(days[2].excused, kUnitsPerDay);
}

TEST_F(GrandBend, SecondRunChangesNothing) {
  Sync("2022-05-27");
  size_t files = std::distance(std::filesystem::directory_iterator(dir_.File("out")), {});
  CycleSummary again = Sync("2022-05-27");
  EXPECT_EQ(again.RecordsRead(), 0u);
  EXPECT_EQ(again.RecordsChanged(), 0u);
  EXPECT_EQ(again.engine.recomputed, 0u);
  EXPECT_EQ(again.engine.evaluated, 0u);
  EXPECT_EQ(again.engine.tier_changes, 0u);
  EXPECT_EQ(again.engine.actions_created, 0u);
  EXPECT_EQ(again.delivery.delivered, 0u);
  EXPECT_EQ(again.engine.students_per_tier[3], 44u);
  EXPECT_EQ(static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_.File("out")), {})), files);
}

TEST_F(GrandBend, DailyReplayCreatesEachTaskExactlyOnce) {
  // A fresh store has no calendar yet, so the first sync loads it. The three schools share
  // one calendar in the sample.
  Sync("2021-08-23");
  CalendarSet calendars = store_->LoadCalendars(2021);
  const SchoolCalendar* calendar = calendars.Find("255901001");
  ASSERT_NE(calendar, nullptr);
  ASSERT_EQ(calendar->days().size(), 169u);

  size_t created = 0;
  for (const auto& day : calendar->days()) created += Sync(day.date).engine.actions_created;

  // Every active tier change of the year got exactly its playbook actions, once.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox"), static_cast<int64_t>(created));
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT idempotency_key) FROM outbox"), static_cast<int64_t>(created));
  int64_t expected = 0;
  auto changes = store_->db().Prepare("SELECT from_tier, to_tier FROM tier_change WHERE superseded_at IS NULL");
  while (changes.Step()) {
    int from = static_cast<int>(changes.Int(0));
    int to = static_cast<int>(changes.Int(1));
    Trigger trigger = to > from ? Trigger::kTierEntered : Trigger::kTierLeftDownward;
    int tier = to > from ? to : from;
    for (const auto& rule : config_.engine.playbook.rules) {
      if (rule.trigger == trigger && rule.tier == tier) expected += static_cast<int64_t>(rule.actions.size());
    }
  }
  EXPECT_EQ(static_cast<int64_t>(created), expected);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM tier_change WHERE superseded_at IS NOT NULL"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox WHERE status != 'delivered'"), 0);
  EXPECT_GT(created, 0u);

  // Each tier change has exactly as many outbox entries as its rule has actions: no change
  // got its actions twice under different keys.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT tier_change_id, COUNT(*) AS n FROM outbox GROUP BY tier_change_id, "
                  "action_id HAVING n > 1)"),
            0);

  // The same replay again creates nothing.
  size_t created_again = 0;
  for (const auto& day : calendar->days()) created_again += Sync(day.date).engine.actions_created;
  EXPECT_EQ(created_again, 0u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox"), static_cast<int64_t>(created));

  // After the replay the end-of-year tiers match a single run.
  CycleSummary last = Sync("2022-05-27");
  EXPECT_EQ(last.engine.students_per_tier[1], 131u);
  EXPECT_EQ(last.engine.students_per_tier[2], 52u);
  EXPECT_EQ(last.engine.students_per_tier[3], 44u);
}

class GrandBendWithCorrections : public GrandBend {
 protected:
  void SetUp() override {
    corrections_ = dir_.File("corrections.csv");
    testing::WriteText(corrections_, "student_id,school_id,date,code,duration\n");
    extra_sources_ = "  - name: corrections\n    type: csv\n    kind: attendance\n    paths: [" + corrections_ + "]\n";
    GrandBend::SetUp();
  }
  std::string corrections_;
};

TEST_F(GrandBendWithCorrections, LateAbsenceRecomputesOneStudent) {
  Sync("2022-05-27");
  // Student 604842 has exactly 17 of 169 days (10.06%, Tier 3). Two absences added in
  // October move the student nowhere new; 604822 (4 days, Tier 1) with 5 more reaches 9
  // days, 5.33%: Tier 2.
  testing::WriteText(corrections_,
                     "student_id,school_id,date,code,duration\n"
                     "604822,255901001,2021-10-04,Unexcused Absence,1\n"
                     "604822,255901001,2021-10-05,Unexcused Absence,1\n"
                     "604822,255901001,2021-10-06,Unexcused Absence,1\n"
                     "604822,255901001,2021-10-07,Unexcused Absence,1\n"
                     "604822,255901001,2021-10-08,Unexcused Absence,1\n"
                     "604822,255901001,2021-10-09,Unexcused Absence,1\n");
  CycleSummary summary = Sync("2022-05-27");
  EXPECT_EQ(summary.RecordsChanged(), 6u);
  EXPECT_EQ(summary.engine.recomputed, 1u);
  EXPECT_EQ(summary.engine.evaluated, 1u);
  EXPECT_EQ(summary.engine.students_per_tier[1], 130u);
  EXPECT_EQ(summary.engine.students_per_tier[2], 53u);
  // 2021-10-09 is a Saturday: kept aside, not counted.
  auto kept = store_->ListKeptAside(2021, "604822");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].reason, "non_instructional_day");

  // Removing the corrections brings the student back to Tier 1 and records the way down.
  testing::WriteText(corrections_, "student_id,school_id,date,code,duration\n");
  CycleSummary undone = Sync("2022-05-27");
  EXPECT_EQ(undone.RecordsChanged(), 6u);
  EXPECT_EQ(undone.engine.recomputed, 1u);
  EXPECT_EQ(undone.engine.students_per_tier[1], 131u);
  EXPECT_GT(undone.engine.superseded, 0u);
}

}  // namespace
}  // namespace tiersync
