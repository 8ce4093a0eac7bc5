// tiersync-bench: the sync cycles a district runs, on a synthetic district, each next to
// the SQL baseline that recomputes every student with one GROUP BY.
//
// The scenarios build on each other and run once each, in order. They are a backfill of
// 179 instructional days, the 180th day's attendance as a new file, one corrected record
// from months earlier as a new corrections file, and a reconciliation that re-reads and
// hashes every file without finding a change. A summary with the targets and the ratios follows
// Google Benchmark's own report.
//
//   tiersync-bench --students=100000 --work=/tmp/district [--seed=1] [--no-baseline] [benchmark flags]
//
// --no-baseline skips the SQL baselines, to profile the cycles alone.

#include <benchmark/benchmark.h>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <thread>

#include "bench/district_generator.h"
#include "bench/sql_baseline.h"
#include "config/config.h"
#include "daemon/cycle.h"

namespace tiersync::bench {
namespace {

struct Options {
  int students = 10000;
  uint64_t seed = 1;
  std::string work = "/tmp/tiersync-bench";
  std::string playbook = "config/playbook.yaml";
  bool baseline = true;  // false with --no-baseline, for profiling the cycles alone
};

struct Figure {
  std::string name;
  double seconds = 0;
  double baseline_seconds = 0;  // the SQL baseline on the same data, 0 when not run
  double target_seconds = 0;
  size_t records_read = 0;
  size_t recomputed = 0;
  size_t evaluated = 0;
  double peak_rss_mb = 0;  // of the process up to the end of this scenario, baselines before it included
  std::map<int, size_t> engine_tiers;
  std::map<int, long> baseline_tiers;
};

Options g_options;
std::unique_ptr<District> g_district;
Config g_config;
std::unique_ptr<Store> g_store;
// The SQL baseline's own connection, as an analyst's query would have, so that its scans
// neither fill nor use the page cache of the connection that runs the cycles.
std::unique_ptr<sqlite::Database> g_baseline_db;
std::vector<Figure> g_figures;

double PeakRssMegabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double Seconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// Files the cycle reads must be older than the stamp settle time, or their stamps are not
// recorded. A nightly export is that old by the time the sync runs.
void LetFilesSettle() { std::this_thread::sleep_for(std::chrono::milliseconds(kStampSettleSeconds * 1000 + 200)); }

CsvSourceConfig& AttendanceSource() {
  for (auto& source : g_config.sources) {
    if (auto* csv = std::get_if<CsvSourceConfig>(&source); csv && csv->name == "attendance") return *csv;
  }
  throw std::logic_error("the generated configuration has no attendance source");
}

void Prepare() {
  std::filesystem::remove_all(g_options.work);
  DistrictSpec spec;
  spec.students = g_options.students;
  spec.seed = g_options.seed;
  g_district = std::make_unique<District>(spec);
  auto paths = g_district->WriteCsv(g_options.work, static_cast<int>(g_district->days().size()) - 1);
  if (!paths) throw std::runtime_error(paths.error().message);
  auto config_path = WriteDistrictConfig(g_options.work, g_options.playbook, *paths);
  if (!config_path) throw std::runtime_error(config_path.error().message);
  auto config = LoadConfig(*config_path);
  if (!config) throw std::runtime_error(config.error().message);
  g_config = std::move(*config);
  auto store = Store::Open(g_config.store_path);
  if (!store) throw std::runtime_error(store.error().message);
  g_store = std::move(*store);
  g_baseline_db = std::make_unique<sqlite::Database>(g_config.store_path, false);
  g_baseline_db->Exec("PRAGMA busy_timeout = 10000");
  g_baseline_db->Exec("PRAGMA cache_size = -65536");  // the same page cache as the Store's
  LetFilesSettle();
}

// Runs one cycle under the benchmark's timer and the SQL baseline after it, untimed by
// the benchmark but timed for the summary.
void RunScenario(benchmark::State& state, const std::string& name, Date as_of, double target_seconds,
                 const CycleOptions& options = {}) {
  Figure figure;
  figure.name = name;
  figure.target_seconds = target_seconds;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto summary = RunCycle(g_config, *g_store, as_of, 0, options);
    figure.seconds = Seconds(std::chrono::steady_clock::now() - start);
    state.SetIterationTime(figure.seconds);
    if (!summary) {
      state.SkipWithError(summary.error().message.c_str());
      return;
    }
    figure.records_read = summary->RecordsRead();
    figure.recomputed = summary->engine.recomputed;
    figure.evaluated = summary->engine.evaluated;
    figure.engine_tiers = summary->engine.students_per_tier;
  }

  figure.peak_rss_mb = PeakRssMegabytes();  // before the baseline, whose sorts take memory too

  state.counters["records_read"] = static_cast<double>(figure.records_read);
  state.counters["students_recomputed"] = static_cast<double>(figure.recomputed);
  state.counters["peak_rss_mb"] = figure.peak_rss_mb;
  if (g_options.baseline) {
    auto start = std::chrono::steady_clock::now();
    int school_year = g_config.engine.year_start.YearOf(as_of).start_year;
    figure.baseline_tiers = SqlBaselineTiers(*g_baseline_db, school_year, as_of, g_district->spec().periods_per_day);
    figure.baseline_seconds = Seconds(std::chrono::steady_clock::now() - start);
    state.counters["sql_baseline_s"] = figure.baseline_seconds;
    state.counters["baseline_ratio"] = figure.seconds > 0 ? figure.baseline_seconds / figure.seconds : 0;
  }
  g_figures.push_back(std::move(figure));
}

CycleOptions ReconcileOptions() {
  CycleOptions options;
  options.full_reconciliation = true;
  return options;
}

Date Day(int index) { return g_district->days()[index]; }

void Backfill(benchmark::State& state) {
  int last = static_cast<int>(g_district->days().size()) - 2;
  RunScenario(state, "backfill (179 days)", Day(last), 30);
}

void NewDay(benchmark::State& state) {
  int day = static_cast<int>(g_district->days().size()) - 1;
  auto path = g_district->WriteAttendanceDay(g_options.work, day);
  if (!path) throw std::runtime_error(path.error().message);
  AttendanceSource().paths.push_back(*path);
  LetFilesSettle();
  RunScenario(state, "one day of new attendance", Day(day), 1);
}

void CorrectedRecord(benchmark::State& state) {
  // An absence excused in March for a day in October: the first present student on
  // instructional day 40 gets an excused absence in a corrections file of its own.
  int day = 40;
  std::string rows;
  const GeneratedStudent* student = nullptr;
  for (const auto& candidate : g_district->students()) {
    rows.clear();
    g_district->AppendDayRows(candidate, day, rows);
    if (rows.find(",In Attendance,") != std::string::npos && rows.find("Absence") == std::string::npos) {
      student = &candidate;
      break;
    }
  }
  if (student == nullptr) throw std::runtime_error("no present student on day 40");
  std::string row = rows.substr(0, rows.find('\n'));
  std::string corrected = row.substr(0, row.find(",In Attendance,")) + ",Excused Absence,,Illness";
  std::filesystem::create_directories(g_options.work + "/corrections");
  std::string path = g_options.work + "/corrections/" + Day(150).ToString() + ".csv";
  std::ofstream(path) << "student_id,school_id,date,period,code,duration,reason\n" << corrected << "\n";
  AttendanceSource().paths.push_back(path);
  LetFilesSettle();
  RunScenario(state, "one corrected record", Day(static_cast<int>(g_district->days().size()) - 1), 0.010);
}

void Reconcile(benchmark::State& state) {
  RunScenario(state, "no-change reconciliation", Day(static_cast<int>(g_district->days().size()) - 1), 5,
              ReconcileOptions());
}

void PrintSummary() {
  std::printf("\nSummary: %d students, %d schools, seed %llu\n", g_options.students, g_district->school_count(),
              static_cast<unsigned long long>(g_options.seed));
  std::printf("%-28s %12s %10s %8s %14s %10s %9s\n", "scenario", "seconds", "target", "met", "SQL baseline s",
              "ratio", "records");
  for (const auto& figure : g_figures) {
    double ratio = figure.seconds > 0 ? figure.baseline_seconds / figure.seconds : 0;
    std::printf("%-28s %12.4f %10.3f %8s %14.3f %9.1fx %9zu\n", figure.name.c_str(), figure.seconds,
                figure.target_seconds, figure.seconds <= figure.target_seconds ? "yes" : "NO",
                figure.baseline_seconds, ratio, figure.records_read);
  }
  // The backfill comes first, so its figure is the sync's own peak; later ones include the
  // SQL baseline's sorts.
  double peak = g_figures.empty() ? 0 : g_figures.front().peak_rss_mb;
  std::printf("peak memory of the sync (max RSS through the backfill): %.1f MB, target 500 MB, met: %s\n", peak,
              peak < 500 ? "yes" : "NO");
  std::printf("max RSS of the whole run, SQL baselines included: %.1f MB\n", PeakRssMegabytes());
  for (size_t i = 1; i < g_figures.size() && g_options.baseline; ++i) {
    double ratio = g_figures[i].seconds > 0 ? g_figures[i].baseline_seconds / g_figures[i].seconds : 0;
    std::printf("incremental %-26s %.1fx faster than the SQL baseline, target 20x, met: %s\n",
                g_figures[i].name.c_str(), ratio, ratio >= 20 ? "yes" : "NO");
  }
  for (const auto& figure : g_figures) {
    std::printf("tiers after %-26s engine", figure.name.c_str());
    for (const auto& [tier, count] : figure.engine_tiers) std::printf(" T%d=%zu", tier, count);
    std::printf(g_options.baseline ? "; SQL baseline" : "; SQL baseline not run (--no-baseline)");
    for (const auto& [tier, count] : figure.baseline_tiers) std::printf(" T%d=%ld", tier, count);
    std::printf("\n");
  }
}

}  // namespace
}  // namespace tiersync::bench

int main(int argc, char** argv) {
  using namespace tiersync::bench;
  // Our own flags first; the rest go to Google Benchmark.
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      size_t length = std::strlen(flag);
      return arg.compare(0, length, flag) == 0 ? argv[i] + length : nullptr;
    };
    if (const char* v = value("--students=")) {
      g_options.students = std::atoi(v);
    } else if (const char* v = value("--seed=")) {
      g_options.seed = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--work=")) {
      g_options.work = v;
    } else if (const char* v = value("--playbook=")) {
      g_options.playbook = v;
    } else if (arg == "--no-baseline") {
      g_options.baseline = false;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (g_options.students <= 0) {
    std::fprintf(stderr, "tiersync-bench: --students must be a positive number\n");
    return 2;
  }
  int rest_count = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_count, rest.data());
  // Warnings only, unless SPDLOG_LEVEL sets another level, e.g. SPDLOG_LEVEL=debug.
  spdlog::set_level(spdlog::level::warn);
  spdlog::cfg::load_env_levels();

  std::printf("generating %d students into %s\n", g_options.students, g_options.work.c_str());
  Prepare();
  for (auto [name, function] : std::vector<std::pair<const char*, void (*)(benchmark::State&)>>{
           {"backfill", Backfill},
           {"new_day", NewDay},
           {"corrected_record", CorrectedRecord},
           {"reconcile_no_change", Reconcile}}) {
    benchmark::RegisterBenchmark(name, function)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  PrintSummary();
  return 0;
}
