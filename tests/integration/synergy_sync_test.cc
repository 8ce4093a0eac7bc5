// Full syncs against the Synergy simulator over TLS: the same tiers as the file-based path,
// exactly-once delivery under injected faults, and late corrections at the nightly
// reconciliation.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <sstream>

#include "config/config.h"
#include "daemon/cycle.h"
#include "tests/integration/synergy_fixture.h"

namespace tiersync::testing {
namespace {

const Date kLastDay = *Date::Parse("2022-05-27");
constexpr int kSchoolYear = 2021;

std::unique_ptr<Store> OpenStore(const Config& config) {
  auto store = Store::Open(config.store_path);
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

Config Load(const std::string& path) {
  auto config = LoadConfig(path);
  if (!config) throw std::runtime_error(config.error().message);
  return std::move(*config);
}

// Runs one cycle with the fake clock and a seeded jitter source.
Result<CycleSummary> Sync(const Config& config, Store& store, Date as_of, FakeClock& clock, bool reconcile = false,
                          int64_t now_unix = 1'700'000'000) {
  static std::mt19937_64 random(42);
  CycleOptions options;
  options.full_reconciliation = reconcile;
  options.clock = &clock;
  options.random_below = [](int64_t bound) {
    return bound <= 1 ? int64_t{0} : static_cast<int64_t>(random() % static_cast<uint64_t>(bound));
  };
  return RunCycle(config, store, as_of, now_unix, options);
}

std::map<int, int> CountTiers(const std::map<std::string, TierStateRow>& states) {
  std::map<int, int> counts;
  for (const auto& [student, state] : states) ++counts[state.tier];
  return counts;
}

std::map<std::string, int> ImportedKeys(const SynergySimulator& simulator) {
  std::map<std::string, int> keys;
  for (const auto& record : simulator.Imports()) ++keys[record.key];
  return keys;
}

TEST(SynergySync, FullSyncOverTlsMatchesFilePath) {
  TempDir file_dir;
  Config file_config = Load(WriteGrandBendConfig(file_dir));
  auto file_store = OpenStore(file_config);
  auto file_summary = RunCycle(file_config, *file_store, kLastDay, 1'700'000'000);
  ASSERT_TRUE(file_summary.ok()) << file_summary.error().message;

  TempDir dir;
  auto simulator = StartSimulator(dir);
  ASSERT_EQ(simulator->url().rfind("https://", 0), 0u);
  Config config = Load(WriteSynergyConfig(dir, {simulator->url()}));
  auto store = OpenStore(config);
  FakeClock clock;
  auto summary = Sync(config, *store, kLastDay, clock);
  ASSERT_TRUE(summary.ok()) << summary.error().message;

  auto expected = file_store->LoadTierStates(kSchoolYear);
  auto actual = store->LoadTierStates(kSchoolYear);
  ASSERT_EQ(expected.size(), 227u);
  ASSERT_EQ(actual.size(), 227u);
  for (const auto& [student, want] : expected) {
    auto found = actual.find(student);
    ASSERT_NE(found, actual.end()) << "student " << student;
    EXPECT_EQ(found->second.tier, want.tier) << "student " << student;
    EXPECT_EQ(found->second.totals.enrolled, want.totals.enrolled) << "student " << student;
    EXPECT_EQ(found->second.totals.absent, want.totals.absent) << "student " << student;
    EXPECT_EQ(found->second.totals.excused, want.totals.excused) << "student " << student;
    EXPECT_EQ(found->second.totals.unexcused, want.totals.unexcused) << "student " << student;
  }
  std::map<int, int> tiers = CountTiers(actual);
  EXPECT_EQ(tiers[1], 131);
  EXPECT_EQ(tiers[2], 52);
  EXPECT_EQ(tiers[3], 44);
  EXPECT_EQ(tiers[4], 0);
  EXPECT_EQ(store->ListKeptAside(kSchoolYear).size(), file_store->ListKeptAside(kSchoolYear).size());

  // Every action went to ImportData once, over one server session.
  EXPECT_EQ(summary->engine.actions_created, file_summary->engine.actions_created);
  auto keys = ImportedKeys(*simulator);
  EXPECT_EQ(keys.size(), summary->engine.actions_created);
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << key;
  EXPECT_EQ(simulator->logins(), 1);
}

TEST(SynergySync, SoapOverPlainHttpGivesSameTiers) {
  TempDir dir;
  auto simulator = StartSimulator(dir, {.tls = false});
  ASSERT_EQ(simulator->url().rfind("http://", 0), 0u);
  SynergyConfigSetup setup{simulator->url()};
  setup.protocol = "soap";
  Config config = Load(WriteSynergyConfig(dir, setup));
  auto store = OpenStore(config);
  FakeClock clock;
  auto summary = Sync(config, *store, kLastDay, clock);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  std::map<int, int> tiers = CountTiers(store->LoadTierStates(kSchoolYear));
  EXPECT_EQ(tiers[1], 131);
  EXPECT_EQ(tiers[2], 52);
  EXPECT_EQ(tiers[3], 44);
  EXPECT_EQ(ImportedKeys(*simulator).size(), summary->engine.actions_created);
}

TEST(SynergySync, RapidSecondLoginIsRetried) {
  // The simulator measures the login interval on the client's fake clock, so the outcome
  // does not depend on how fast this machine runs.
  TempDir dir;
  FakeClock clock;
  SimulatorOptions options;
  options.min_login_interval = std::chrono::milliseconds(3000);
  options.now = [&clock] { return clock.Now(); };
  auto simulator = StartSimulator(dir, {}, options);
  Config config = Load(WriteSynergyConfig(dir, {simulator->url()}));
  auto store = OpenStore(config);

  // Each cycle opens its own session, so the second cycle logs in again at once.
  auto first = Sync(config, *store, kLastDay, clock);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto slept_before = clock.slept();
  auto second = Sync(config, *store, kLastDay, clock);
  ASSERT_TRUE(second.ok()) << second.error().message;

  EXPECT_EQ(simulator->rejected_logins(), 1);
  EXPECT_EQ(simulator->logins(), 2);
  EXPECT_GE((clock.slept() - slept_before).count(), 3000);
}

TEST(SynergySync, ReplayWithFaultsDeliversEachTaskOnce) {
  TempDir dir;
  SimulatorOptions options;
  options.latency = std::chrono::milliseconds(2000);
  auto simulator = StartSimulator(dir, {}, options);
  SynergyConfigSetup setup{simulator->url()};
  setup.request_timeout_ms = 800;  // shorter than the simulator's latency fault
  setup.max_attempts = 8;
  Config config = Load(WriteSynergyConfig(dir, setup));
  config.synergy->session.poll_interval = std::chrono::milliseconds(100);
  config.synergy->session.report_timeout = std::chrono::seconds(2);
  auto store = OpenStore(config);

  // The school year's instructional days, from the sample calendar.
  std::set<Date> day_set;
  std::istringstream calendar(ReadText(SourcePath("data/grand-bend/calendar.csv")));
  std::string line;
  while (std::getline(calendar, line)) {
    size_t comma = line.find(',');
    if (comma == std::string::npos) continue;
    if (auto date = Date::Parse(line.substr(comma + 1, 10))) day_set.insert(*date);
  }
  std::vector<Date> days(day_set.begin(), day_set.end());
  ASSERT_EQ(days.size(), 169u);

  using F = Fault;
  simulator->SetFaultPlan({0.2,
                           {F::kLatency, F::kRtError, F::kHttp500, F::kDropBeforeProcessing, F::kDropAfterProcessing,
                            F::kTruncatedBody, F::kStuckJob, F::kRefuseLogin},
                           7});
  FakeClock clock;
  int64_t now = 1'700'000'000;
  int failed_cycles = 0;
  // A cycle every fifth instructional day, as a district running weekly would, and the last day.
  for (size_t i = 0; i < days.size(); i += 5) {
    auto summary = Sync(config, *store, days[i], clock, false, now);
    if (!summary) ++failed_cycles;
    now += 7 * 86400;
  }
  auto last = Sync(config, *store, days.back(), clock, false, now);
  if (!last) ++failed_cycles;
  now += 86400;

  // Faults off: the nightly reconciliation, then cycles until the backoff lets every entry out.
  simulator->SetFaultPlan({});
  for (int round = 0; round < 3; ++round) {
    auto summary = Sync(config, *store, days.back(), clock, round == 0, now);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    now += 86400;
  }

  auto counts = store->OutboxCounts();
  EXPECT_EQ(counts["pending"], 0);
  EXPECT_EQ(counts["dead"], 0);
  auto delivered = store->ListOutbox("delivered", 1'000'000);
  ASSERT_GT(delivered.size(), 300u);

  auto keys = ImportedKeys(*simulator);
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << "imported more than once: " << key;
  EXPECT_EQ(keys.size(), delivered.size());
  for (const auto& entry : delivered) {
    EXPECT_EQ(keys.count(entry.action.idempotency_key), 1u) << "never imported: " << entry.action.idempotency_key;
  }

  // The faults really happened, and the year still ends at the file-based tiers.
  auto faults = simulator->faults_injected();
  for (Fault fault : {F::kLatency, F::kRtError, F::kHttp500, F::kDropBeforeProcessing, F::kDropAfterProcessing,
                      F::kTruncatedBody, F::kStuckJob, F::kRefuseLogin}) {
    EXPECT_GT(faults[fault], 0) << FaultName(fault);
  }
  std::map<int, int> tiers = CountTiers(store->LoadTierStates(kSchoolYear));
  EXPECT_EQ(tiers[1], 131);
  EXPECT_EQ(tiers[2], 52);
  EXPECT_EQ(tiers[3], 44);
  RecordProperty("failed_cycles", failed_cycles);
}

TEST(SynergySync, EachImportFaultDeliversOnce) {
  struct Case {
    Fault fault;
    std::string method;  // the call that gets the fault
  };
  const std::vector<Case> cases = {
      {Fault::kLatency, "ImportData"},           {Fault::kRtError, "ImportData"},
      {Fault::kHttp500, "ImportData"},           {Fault::kDropBeforeProcessing, "ImportData"},
      {Fault::kDropAfterProcessing, "ImportData"}, {Fault::kTruncatedBody, "ImportData"},
      {Fault::kRefuseLogin, "ImportData"},       {Fault::kStuckJob, "ReportExecute"},
  };
  for (const auto& test_case : cases) {
    SCOPED_TRACE(FaultName(test_case.fault));
    TempDir dir;
    SimulatorOptions options;
    options.latency = std::chrono::milliseconds(2500);
    auto simulator = StartSimulator(dir, {.load_grand_bend = false}, options);
    SynergyConfigSetup setup{simulator->url()};
    setup.synergy_source = false;  // tasks from the sample files, delivered to the simulator
    setup.request_timeout_ms = 1000;  // shorter than the latency fault, with room for a busy machine
    Config config = Load(WriteSynergyConfig(dir, setup));
    auto store = OpenStore(config);
    simulator->QueueFault(test_case.fault, test_case.method);

    FakeClock clock;
    auto summary = Sync(config, *store, kLastDay, clock);
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    EXPECT_EQ(summary->delivery.delivered, 314u);
    EXPECT_EQ(simulator->faults_injected()[test_case.fault], 1);
    auto keys = ImportedKeys(*simulator);
    EXPECT_EQ(keys.size(), 314u);
    for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << key;
  }
}

TEST(SynergySync, NightlyReconciliationAppliesLateCorrection) {
  TempDir dir;
  auto simulator = StartSimulator(dir);
  Config config = Load(WriteSynergyConfig(dir, {simulator->url()}));
  auto store = OpenStore(config);
  FakeClock clock;
  auto first = Sync(config, *store, kLastDay, clock);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto before = store->LoadTierStates(kSchoolYear);

  // A student whom one more unexcused day in October moves to another tier, and an
  // October day on which the student has no event.
  std::string student;
  std::string school;
  Date corrected_day;
  int expected_tier = 0;
  CalendarSet calendars = store->LoadCalendars(kSchoolYear);
  for (const auto& [id, state] : before) {
    int tier = ClassifyTier(state.totals.absent + kUnitsPerDay, state.totals.enrolled, config.engine.rules);
    const SchoolCalendar* calendar = calendars.Find(state.school_id);
    if (tier == state.tier || calendar == nullptr) continue;
    std::set<Date> event_days;
    for (const auto& event : store->LoadEvents(id, kSchoolYear)) event_days.insert(event.date);
    for (const auto& day : calendar->days()) {
      if (day.date.month() == 10 && !event_days.count(day.date)) {
        student = id;
        school = state.school_id;
        corrected_day = day.date;
        expected_tier = tier;
        break;
      }
    }
    if (!student.empty()) break;
  }
  ASSERT_FALSE(student.empty()) << "no student changes tier with one more absent day";

  simulator->SetDailyAttendance(student, school, corrected_day.ToString(), "UX", "1");

  // A day-to-day cycle reads May only, so the October correction is not seen yet.
  auto daily = Sync(config, *store, kLastDay, clock);
  ASSERT_TRUE(daily.ok()) << daily.error().message;
  EXPECT_EQ(daily->engine.recomputed, 0u);
  EXPECT_EQ(store->LoadTierStates(kSchoolYear)[student].tier, before[student].tier);

  // The nightly reconciliation reads the year and applies only the one changed record.
  auto nightly = Sync(config, *store, kLastDay, clock, true);
  ASSERT_TRUE(nightly.ok()) << nightly.error().message;
  EXPECT_TRUE(nightly->full_reconciliation);
  EXPECT_EQ(nightly->RecordsChanged(), 1u);
  std::vector<std::string> changed_origins;
  for (const auto& origin : nightly->origins) {
    if (origin.stats.changed() > 0) changed_origins.push_back(origin.origin);
  }
  ASSERT_EQ(changed_origins.size(), 1u);
  EXPECT_EQ(changed_origins[0], "synergy:daily_attendance:" + corrected_day.ToString().substr(0, 7));
  EXPECT_EQ(nightly->engine.recomputed, 1u);
  EXPECT_EQ(nightly->engine.evaluated, 1u);

  auto after = store->LoadTierStates(kSchoolYear);
  EXPECT_NE(after[student].tier, before[student].tier);
  EXPECT_EQ(after[student].tier, expected_tier);
  EXPECT_EQ(after[student].totals.absent, before[student].totals.absent + kUnitsPerDay);
  for (const auto& [id, state] : before) {
    if (id == student) continue;
    EXPECT_EQ(after[id].tier, state.tier) << "student " << id;
    EXPECT_EQ(after[id].totals.absent, state.totals.absent) << "student " << id;
  }
}

}  // namespace
}  // namespace tiersync::testing
