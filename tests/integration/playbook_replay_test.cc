// A replay of the Grand Bend 2021-2022 school year, one sync per instructional day, with
// the default playbook and the example configuration. The counts below are the table in
// docs/playbook.md. The tier, plan review and consecutive absence rows are also derived
// from the stored tier changes and absences, so a planner bug cannot hide behind a
// re-recorded number.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "config/config.h"
#include "daemon/cycle.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::SourcePath;
using testing::TempDir;

// The example configuration with its store and output moved into `dir`.
std::string WriteExampleConfig(const TempDir& dir) {
  std::string text = testing::ReadText(SourcePath("config/examples/grand-bend.yaml"));
  auto replace = [&text](const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  replace("../../var/grand-bend.db", dir.File("tiersync.db"));
  replace("../../out/grand-bend", dir.File("out"));
  replace("../../data/", SourcePath("data/"));
  replace("../playbook.yaml", SourcePath("config/playbook.yaml"));
  testing::WriteText(dir.File("grand-bend.yaml"), text);
  return dir.File("grand-bend.yaml");
}

// (trigger, kind, tier) -> actions created; the tier is the one the rule names for tier
// triggers and the student's tier at the time otherwise.
using Table = std::map<std::tuple<std::string, std::string, int>, int>;

class GrandBendReplay : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto config = LoadConfig(WriteExampleConfig(*dir_));
    ASSERT_TRUE(config.ok()) << config.error().message;
    config_ = new Config(std::move(*config));
    store_ = std::move(Store::Open(config_->store_path)).value().release();

    // The first cycle, before the school year, reads the sources; the replay then runs
    // once per instructional day of any school.
    std::set<Date> days;
    auto first = RunCycle(*config_, *store_, Date::FromYmd(2021, 8, 22), 1'700'000'000);
    ASSERT_TRUE(first.ok()) << first.error().message;
    CalendarSet calendars = store_->LoadCalendars(2021);
    for (const char* school : {"255901001", "255901044", "255901107"}) {
      for (const auto& day : calendars.Find(school)->days()) days.insert(day.date);
    }
    for (Date day : days) {
      auto summary = RunCycle(*config_, *store_, day, 1'700'000'000);
      ASSERT_TRUE(summary.ok()) << summary.error().message;
    }
    last_day_ = *days.rbegin();
  }

  static void TearDownTestSuite() {
    delete store_;
    delete config_;
    delete dir_;
  }

  static Table Created() {
    Table table;
    for (const auto& entry : store_->ListOutbox("", 1000000)) {
      const PlannedAction& action = entry.action;
      int tier = action.trigger == Trigger::kTierLeftDownward ? action.from_tier : action.to_tier;
      ++table[{TriggerName(action.trigger), ActionKindName(action.kind), tier}];
    }
    return table;
  }

  static std::map<std::string, int> NoticeStatuses() {
    std::map<std::string, int> statuses;
    for (const auto& entry : store_->ListOutbox("", 1000000)) {
      if (entry.action.kind == ActionKind::kNotice) ++statuses[entry.action.action_id + " " + entry.status];
    }
    return statuses;
  }

  static TempDir* dir_;
  static Config* config_;
  static Store* store_;
  static Date last_day_;
};

TempDir* GrandBendReplay::dir_ = nullptr;
Config* GrandBendReplay::config_ = nullptr;
Store* GrandBendReplay::store_ = nullptr;
Date GrandBendReplay::last_day_;

// Counts the rule's actions of one kind, for rules without conditions.
int ActionsPerDecision(const Playbook& playbook, Trigger trigger, int tier, ActionKind kind) {
  int count = 0;
  for (const auto& rule : playbook.rules) {
    if (rule.trigger != trigger || rule.tier != tier) continue;
    for (const auto& action : rule.actions) count += action.kind == kind ? 1 : 0;
  }
  return count;
}

TEST_F(GrandBendReplay, TableMatchesDocs) {
  Table expected = {
      {{"tier_entered", "contact", 2}, 161},
      {{"tier_entered", "task", 2}, 322},
      {{"tier_entered", "task", 3}, 675},
      {{"tier_entered", "notice", 3}, 225},
      {{"tier_entered", "task", 4}, 144},
      {{"tier_entered", "notice", 4}, 80},
      {{"tier_left_downward", "task", 2}, 163},
      {{"tier_left_downward", "task", 3}, 213},
      {{"tier_left_downward", "task", 4}, 48},
      {{"plan_review", "task", 3}, 323},
      {{"plan_review", "task", 4}, 2},
      {{"consecutive_absences", "contact", 2}, 3},
      {{"consecutive_absences", "contact", 3}, 6},
      {{"consecutive_absences", "contact", 4}, 3},
      {{"unexcused_in_window", "task", 1}, 1},
      {{"unexcused_in_window", "task", 2}, 58},
      {{"unexcused_in_window", "task", 3}, 91},
      {{"unexcused_in_window", "task", 4}, 1},
      {{"unexcused_after_notice", "task", 4}, 3},
      {{"task_overdue", "task", 1}, 924},
      {{"task_overdue", "task", 2}, 1919},
      {{"task_overdue", "task", 3}, 1765},
      {{"task_overdue", "task", 4}, 27},
  };
  EXPECT_EQ(Created(), expected);
}

TEST_F(GrandBendReplay, NoticeOutcomesMatchDocs) {
  std::map<std::string, int> expected = {
      {"tier3-written-notice delivered", 146},
      {"tier3-written-notice cancelled", 111},
      {"tier4-written-notice delivered", 8},
      {"tier4-written-notice cancelled", 40},
  };
  EXPECT_EQ(NoticeStatuses(), expected);
}

// Tier actions: every recorded tier change was the latest change on the day it happened,
// so each one has the actions of its rules.
TEST_F(GrandBendReplay, TierActionsMatchTierChanges) {
  const Playbook& playbook = config_->engine.playbook;
  std::map<int, int> entries;
  std::map<int, int> exits;
  for (const auto& [student_id, inputs] : store_->LoadStudentInputs(2021)) {
    for (const auto& row : store_->LoadTierChanges(student_id, 2021)) {
      if (row.change.to_tier > row.change.from_tier) {
        ++entries[row.change.to_tier];
      } else {
        ++exits[row.change.from_tier];
      }
    }
  }
  Table created = Created();
  for (int tier = 2; tier <= 4; ++tier) {
    EXPECT_EQ((created[{"tier_entered", "task", tier}]),
              entries[tier] * ActionsPerDecision(playbook, Trigger::kTierEntered, tier, ActionKind::kTask))
        << "Tier " << tier;
    EXPECT_EQ((created[{"tier_left_downward", "task", tier}]),
              exits[tier] * ActionsPerDecision(playbook, Trigger::kTierLeftDownward, tier, ActionKind::kTask))
        << "Tier " << tier;
  }
  // Every Grand Bend school has a level, so each Tier 2 entry has one of the two conversations.
  EXPECT_EQ((created[{"tier_entered", "contact", 2}]), entries[2]);

  int tier3_notices = 0;
  int tier4_notices = 0;
  for (const auto& entry : store_->ListOutbox("", 1000000)) {
    if (entry.action.trigger != Trigger::kTierEntered) continue;
    tier3_notices += entry.action.action_id == "tier3-written-notice" && entry.action.to_tier == 3 ? 1 : 0;
    tier4_notices += entry.action.action_id == "tier4-written-notice" ? 1 : 0;
  }
  EXPECT_EQ(tier3_notices, entries[3]);
  EXPECT_EQ(tier4_notices, entries[4]);
}

// Plan reviews: every 4 weeks in Tier 3 and every 2 weeks in Tier 4, counted from the
// stored tier changes, for reviews due by the last day of the replay.
TEST_F(GrandBendReplay, PlanReviewsMatchTierIntervals) {
  std::map<int, int> expected;
  const std::map<int, int> weeks = {{3, 4}, {4, 2}};
  for (const auto& [student_id, inputs] : store_->LoadStudentInputs(2021)) {
    auto rows = store_->LoadTierChanges(student_id, 2021);
    for (size_t i = 0; i < rows.size(); ++i) {
      auto every = weeks.find(rows[i].change.to_tier);
      if (every == weeks.end()) continue;
      Date end = i + 1 < rows.size() ? rows[i + 1].change.date : last_day_ + 1;
      for (Date review = rows[i].change.date + 7 * every->second; review < end && review <= last_day_;
           review = review + 7 * every->second) {
        ++expected[every->first];
      }
    }
  }
  Table created = Created();
  EXPECT_EQ((created[{"plan_review", "task", 3}]), expected[3]);
  EXPECT_EQ((created[{"plan_review", "task", 4}]), expected[4]);
}

// Consecutive absences: runs of three full days absent on consecutive enrolled days.
TEST_F(GrandBendReplay, ConsecutiveCallsMatchAbsences) {
  CalendarSet calendars = store_->LoadCalendars(2021);
  int runs = 0;
  for (const auto& [student_id, inputs] : store_->LoadStudentInputs(2021)) {
    std::set<Date> absent;
    for (const auto& day : inputs.absence_days) {
      if (day.amount >= kUnitsPerDay) absent.insert(day.date);
    }
    int streak = 0;
    for (const auto& day : EnrolledDays(inputs.enrollments, calendars, last_day_)) {
      streak = absent.count(day.date) ? streak + 1 : 0;
      runs += streak == 3 ? 1 : 0;
    }
  }
  Table created = Created();
  int calls = 0;
  for (int tier = 1; tier <= 4; ++tier) calls += created[{"consecutive_absences", "contact", tier}];
  EXPECT_EQ(calls, runs);
}

}  // namespace
}  // namespace tiersync
