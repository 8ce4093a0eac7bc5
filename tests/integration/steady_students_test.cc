// Daily syncs that move steady students by their enrolled days alone, and skip the playbook
// step for students whose new absences decide nothing, against the same syncs evaluating
// every student in full. Both must leave the same outbox, tier changes and tier states,
// day after day: the plan reviews, overdue tasks, held notices and household merges the
// default playbook makes are all dated, and none may be missed or come late.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/district_generator.h"
#include "config/config.h"
#include "daemon/cycle.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::TempDir;

constexpr int kStudents = 2000;
constexpr int kBackfillDays = 40;
constexpr int kDailyDays = 30;  // synced one by one after the backfill, with one 3-day gap

std::vector<std::string> Rows(Store& store, const std::string& sql) {
  std::vector<std::string> rows;
  auto statement = store.db().Prepare(sql);
  while (statement.Step()) {
    std::string row;
    for (int i = 0; i < statement.ColumnCount(); ++i) row += statement.Text(i) + "|";
    rows.push_back(std::move(row));
  }
  return rows;
}

// Every outbox column but the wall-clock timestamps.
std::string OutboxQuery(Store& store) {
  std::string columns;
  for (const auto& name : Rows(store, "SELECT name FROM pragma_table_info('outbox') ORDER BY cid")) {
    std::string column = name.substr(0, name.size() - 1);
    if (column == "created_at" || column == "delivered_at") continue;
    columns += (columns.empty() ? "" : ", ") + column;
  }
  return "SELECT " + columns + " FROM outbox ORDER BY id";
}

struct Dump {
  std::vector<std::string> outbox;
  std::vector<std::string> tier_changes;
  std::vector<std::string> tier_states;
  std::vector<std::string> meta;
};

Dump Take(Store& store, const Config& config) {
  Dump dump;
  dump.outbox = Rows(store, OutboxQuery(store));
  dump.tier_changes = Rows(store,
                           "SELECT id, student_id, school_year, change_date, from_tier, to_tier, occurrence, "
                           "reason, recorded_as_of, superseded_at IS NULL FROM tier_change ORDER BY id");
  dump.tier_states = testing::TierStateRows(store, config, true);
  dump.meta = Rows(store, "SELECT key, value FROM meta WHERE key LIKE 'tier_counts:%' ORDER BY key");
  return dump;
}

CsvSourceConfig& Attendance(Config& config) {
  for (auto& source : config.sources) {
    if (auto* csv = std::get_if<CsvSourceConfig>(&source); csv && csv->name == "attendance") return *csv;
  }
  throw std::logic_error("no attendance source");
}

// Keeps the log to errors while it lives: each cycle warns of the same kept-aside event.
class QuietLog {
 public:
  QuietLog() : saved_(spdlog::get_level()) { spdlog::set_level(spdlog::level::err); }
  ~QuietLog() { spdlog::set_level(saved_); }
  QuietLog(const QuietLog&) = delete;
  QuietLog& operator=(const QuietLog&) = delete;

 private:
  spdlog::level::level_enum saved_;
};

// A generated district synced into two stores: `steady` moves steady students forward and
// skips the playbook step where nothing is new, `full` evaluates every student in full.
struct TwoStores {
  TempDir dir;
  std::unique_ptr<bench::District> district;
  std::vector<std::string> paths;  // the files written for the backfill days
  Config steady_config;
  Config full_config;
  std::unique_ptr<Store> steady;
  std::unique_ptr<Store> full;

  // Generates the district and writes its first `backfill_days` days. Fails the test on
  // any error.
  void Open(int students, uint64_t seed, int backfill_days, const std::string& playbook_path) {
    bench::DistrictSpec spec;
    spec.students = students;
    spec.seed = seed;
    district = std::make_unique<bench::District>(spec);
    ASSERT_GE(static_cast<int>(district->days().size()), backfill_days);
    auto written = district->WriteCsv(dir.path(), backfill_days);
    ASSERT_TRUE(written.ok()) << written.error().message;
    paths = *written;
    auto config_path = bench::WriteDistrictConfig(dir.path(), playbook_path, paths);
    ASSERT_TRUE(config_path.ok()) << config_path.error().message;
    auto loaded = LoadConfig(*config_path);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    steady_config = std::move(*loaded);
    full_config = steady_config;
    full_config.engine.extend_steady_students = false;
    auto steady_store = Store::Open(dir.File("steady.db"));
    auto full_store = Store::Open(dir.File("full.db"));
    ASSERT_TRUE(steady_store.ok()) << steady_store.error().message;
    ASSERT_TRUE(full_store.ok()) << full_store.error().message;
    steady = std::move(*steady_store);
    full = std::move(*full_store);
  }

  // Writes the attendance file of instructional day `day` and adds it to both
  // configurations. Returns its path, or an empty string after failing the test.
  std::string AddDay(int day) {
    auto path = district->WriteAttendanceDay(dir.path(), day);
    EXPECT_TRUE(path.ok()) << path.error().message;
    if (!path.ok()) return "";
    Attendance(steady_config).paths.push_back(*path);
    Attendance(full_config).paths.push_back(*path);
    return *path;
  }

  // Syncs both stores as of `as_of` and returns their summaries, or fails the test.
  void SyncBoth(Date as_of, CycleSummary& steady_summary, CycleSummary& full_summary) {
    auto steady_result = RunCycle(steady_config, *steady, as_of, 1700000000);
    auto full_result = RunCycle(full_config, *full, as_of, 1700000000);
    ASSERT_TRUE(steady_result.ok()) << steady_result.error().message;
    ASSERT_TRUE(full_result.ok()) << full_result.error().message;
    steady_summary = std::move(*steady_result);
    full_summary = std::move(*full_result);
  }
};

// Runs the daily syncs with the playbook at `playbook_path` and compares the two stores
// after each one.
void CompareDailySyncs(const std::string& playbook_path) {
  QuietLog quiet;
  TwoStores two;
  two.Open(kStudents, 11, kBackfillDays, playbook_path);
  if (::testing::Test::HasFatalFailure()) return;
  const bench::District& district = *two.district;
  ASSERT_GE(static_cast<int>(district.days().size()), kBackfillDays + kDailyDays);
  Store& steady = *two.steady;
  Store& full = *two.full;

  size_t extended = 0;
  size_t no_new_decision = 0;
  size_t steady_evaluated = 0;
  size_t full_evaluated = 0;
  auto sync_both = [&](Date as_of) {
    CycleSummary steady_summary;
    CycleSummary full_summary;
    two.SyncBoth(as_of, steady_summary, full_summary);
    if (::testing::Test::HasFatalFailure()) return;
    extended += steady_summary.engine.extended;
    no_new_decision += steady_summary.engine.no_new_decision;
    EXPECT_EQ(full_summary.engine.no_new_decision, 0u);
    steady_evaluated += steady_summary.engine.evaluated;
    full_evaluated += full_summary.engine.evaluated;
    EXPECT_EQ(full_summary.engine.extended, 0u);
    EXPECT_EQ(steady_summary.engine.students_per_tier, full_summary.engine.students_per_tier)
        << "as of " << as_of.ToString();
  };
  sync_both(district.days()[kBackfillDays - 1]);

  bool completed = false;
  for (int day = kBackfillDays; day < kBackfillDays + kDailyDays; ++day) {
    std::string path = two.AddDay(day);
    ASSERT_FALSE(path.empty());
    // Three days arrive together once, so a sync spans several new days.
    if (day == kBackfillDays + 10 || day == kBackfillDays + 11) continue;

    // Staff finish a task halfway, which stops its escalation in both stores.
    if (!completed && day == kBackfillDays + 15) {
      auto open = Rows(full, "SELECT idempotency_key FROM outbox WHERE kind = 'task' ORDER BY id LIMIT 1");
      ASSERT_EQ(open.size(), 1u);
      std::string key = open[0].substr(0, open[0].size() - 1);
      ASSERT_TRUE(steady.CompleteTask(key, district.days()[day]).ok());
      ASSERT_TRUE(full.CompleteTask(key, district.days()[day]).ok());
      completed = true;
    }
    // A correction turns an absence from weeks ago into a present day, which removes an
    // absence day and nothing else.
    if (day == kBackfillDays + 20) {
      std::string text = testing::ReadText(two.paths[5]);
      // A daily record (no period) of a student with no other absence that day.
      size_t code = std::string::npos;
      for (size_t at = text.find(",,Unexcused Absence,"); at != std::string::npos && code == std::string::npos;
           at = text.find(",,Unexcused Absence,", at + 1)) {
        size_t line = text.rfind('\n', at) + 1;
        std::string student = text.substr(line, text.find(',', line) - line);
        size_t absences = 0;
        for (size_t other = text.find("\n" + student + ","); other != std::string::npos;
             other = text.find("\n" + student + ",", other + 1)) {
          size_t end = text.find('\n', other + 1);
          if (text.substr(other, end - other).find("Absence") != std::string::npos) ++absences;
        }
        // Nothing else may bring the student into a full evaluation today: no date due, no
        // absence in today's file, and Tier 1, which a day present cannot move.
        auto due = Rows(steady, "SELECT student_id FROM tier_state WHERE student_id = '" + student +
                                    "' AND tier = 1 AND recheck_on > " + std::to_string(district.days()[day].days()));
        std::string today = testing::ReadText(path);
        size_t today_line = today.find("\n" + student + ",");
        bool absent_today = today_line != std::string::npos &&
                            today.find("Absence", today_line) < today.find('\n', today_line + 1);
        if (absences == 1 && due.size() == 1 && !absent_today) code = at + 1;
      }
      ASSERT_NE(code, std::string::npos);
      text.replace(code, std::string(",Unexcused Absence,").size(), ",In Attendance,");
      testing::WriteText(two.paths[5], text);
    }
    sync_both(district.days()[day]);
    if (::testing::Test::HasFatalFailure()) return;

    Dump steady_dump = Take(steady, two.steady_config);
    Dump full_dump = Take(full, two.full_config);
    ASSERT_EQ(steady_dump.outbox, full_dump.outbox) << "as of " << district.days()[day].ToString();
    ASSERT_EQ(steady_dump.tier_changes, full_dump.tier_changes) << "as of " << district.days()[day].ToString();
    ASSERT_EQ(steady_dump.tier_states, full_dump.tier_states) << "as of " << district.days()[day].ToString();
    ASSERT_EQ(steady_dump.meta, full_dump.meta) << "as of " << district.days()[day].ToString();
  }

  // The days made plan reviews, escalations and released notices, so the dated decisions
  // were tested, and most students were moved without a full evaluation.
  Dump dump = Take(full, two.full_config);
  auto count = [&full](const std::string& where) {
    return Rows(full, "SELECT COUNT(*) FROM outbox WHERE " + where).at(0);
  };
  EXPECT_NE(count("trigger_name = 'plan_review'"), "0|");
  EXPECT_NE(count("trigger_name = 'task_overdue'"), "0|");
  EXPECT_NE(count("kind = 'notice' AND issued_on IS NOT NULL"), "0|");
  EXPECT_GT(dump.outbox.size(), 1000u);
  EXPECT_GT(extended, static_cast<size_t>(kStudents) * (kDailyDays - 2) * 2 / 3);
  EXPECT_LT(steady_evaluated * 3, full_evaluated);
  // Many students absent on a new day skipped the playbook step, and the rules that new
  // absences fire made the same actions in both stores.
  EXPECT_GT(no_new_decision, 2000u) << no_new_decision << " of " << steady_evaluated;
  EXPECT_NE(count("trigger_name = 'consecutive_absences'"), "0|");
  EXPECT_NE(count("trigger_name = 'unexcused_in_window'"), "0|");
  EXPECT_NE(count("trigger_name = 'unexcused_after_notice'"), "0|");
}

TEST(SteadyStudents, DailySyncsMatchEvaluatingEveryone) {
  CompareDailySyncs(testing::SourcePath("config/playbook.yaml"));
}

// A notice sent on unexcused absences after a lower notice rests on that notice: when the
// lower notice is cancelled, the next plan sends a lower notice again. No date is due for
// that, so a run that cancels a notice makes the next run evaluate the student in full.
TEST(SteadyStudents, NoticeAfterNoticeMatchesEvaluatingEveryone) {
  TempDir dir;
  std::string playbook = testing::ReadText(testing::SourcePath("config/playbook.yaml"));
  for (auto [from, to] : {std::pair<std::string, std::string>{"excuse_window_days: 3", "excuse_window_days: 0"},
                          {"stale_after_days: 10", "stale_after_days: 0"}}) {
    size_t at = playbook.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    playbook.replace(at, from.size(), to);
  }
  playbook +=
      "  - when: { unexcused_after_notice: { notice_level: 1, tier: 3 }, min_days_enrolled: 30 }\n"
      "    actions:\n"
      "      - { id: notice-after-level-1, kind: notice, role: principal, due_in_instructional_days: 2, "
      "title: \"Notice after the level 1 notice\", notice_template: tier4-intensive-support, notice_level: 3 }\n";
  testing::WriteText(dir.File("playbook.yaml"), playbook);
  CompareDailySyncs(dir.File("playbook.yaml"));
}

// A sync at an earlier as-of date than the last one leaves the tier changes recorded after it
// as they were. Here a day's file arrives only after a sync as of that day, and then the
// operator syncs as of the day before. The next later sync must reconcile the changes of
// that day with the file, as evaluating every student does.
TEST(SteadyStudents, EarlierAsOfThenLaterSyncMatches) {
  QuietLog quiet;
  TwoStores two;
  constexpr int kBackfill = 20;
  two.Open(800, 2, kBackfill, testing::SourcePath("config/playbook.yaml"));
  if (::testing::Test::HasFatalFailure()) return;
  const bench::District& district = *two.district;
  CycleSummary steady_summary;
  CycleSummary full_summary;
  auto sync_both = [&](Date as_of) { two.SyncBoth(as_of, steady_summary, full_summary); };
  auto add_day = [&](int day) { ASSERT_FALSE(two.AddDay(day).empty()); };

  sync_both(district.days()[kBackfill - 1]);
  sync_both(district.days()[kBackfill]);  // before the day's file arrives
  add_day(kBackfill);
  sync_both(district.days()[kBackfill - 1]);
  add_day(kBackfill + 1);
  sync_both(district.days()[kBackfill + 1]);
  if (::testing::Test::HasFatalFailure()) return;

  Dump steady_dump = Take(*two.steady, two.steady_config);
  Dump full_dump = Take(*two.full, two.full_config);
  EXPECT_EQ(steady_dump.tier_changes, full_dump.tier_changes);
  EXPECT_EQ(steady_dump.outbox, full_dump.outbox);
  EXPECT_EQ(steady_dump.tier_states, full_dump.tier_states);
  // The day's file superseded changes recorded by the sync that ran before it arrived.
  auto superseded = Rows(*two.full, "SELECT COUNT(*) FROM tier_change WHERE superseded_at IS NOT NULL");
  EXPECT_NE(superseded.at(0), "0|");
}

}  // namespace
}  // namespace tiersync
