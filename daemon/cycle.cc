#include "daemon/cycle.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include <cstdlib>
#include <ctime>
#include <random>
#include <sstream>
#include <unordered_map>

#include "base/step_timer.h"

namespace tiersync {

size_t CycleSummary::RecordsRead() const {
  size_t total = 0;
  for (const auto& origin : origins) total += origin.stats.read;
  return total;
}

size_t CycleSummary::RecordsChanged() const {
  size_t total = 0;
  for (const auto& origin : origins) total += origin.stats.changed();
  return total;
}

Date TodayIn(const std::string& time_zone) {
  // NOTE: GCC 12's <chrono> has no time zone database, so this sets TZ for the process;
  // tiersync reads it nowhere else.
  setenv("TZ", time_zone.c_str(), 1);
  tzset();
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return Date::FromYmd(local.tm_year + 1900, static_cast<unsigned>(local.tm_mon + 1),
                       static_cast<unsigned>(local.tm_mday));
}

namespace {

// The Synergy session shared by every synergy_report source and the synergy sink of one
// cycle, so that one login serves them all.
std::unique_ptr<synergy::SynergyClient> MakeSynergyClient(const Config& config, const CycleOptions& options,
                                                          const std::function<int64_t(int64_t)>& random_below) {
  if (!config.synergy) return nullptr;
  if (!config.synergy->http.tls.verify) {
    spdlog::warn("TLS certificate verification is OFF for {} (synergy.tls.insecure_skip_verify); anyone on the "
                 "network path can read and change this traffic, including the Synergy password",
                 config.synergy->http.url);
  }
  synergy::Clock& clock = options.clock != nullptr ? *options.clock : synergy::SystemClock();
  return std::make_unique<synergy::SynergyClient>(config.synergy->session,
                                                  std::make_unique<http::HttpClient>(config.synergy->http), clock,
                                                  random_below);
}

std::string FullReadKey(const std::string& source, int school_year) {
  return "synergy_full_read:" + source + ":" + std::to_string(school_year);
}

// Logs one line per kind of kept-aside event, with a count and the first example.
void LogKeptAside(const std::vector<KeptAsideRow>& rows) {
  std::map<std::string, std::pair<size_t, const KeptAsideRow*>> by_reason;
  for (const auto& row : rows) {
    auto& [count, first] = by_reason[row.reason];
    if (count++ == 0) first = &row;
  }
  for (const auto& [reason, entry] : by_reason) {
    spdlog::warn("{} attendance events kept aside as {} (first: student {} on {}: {}); they do not count, see "
                 "`tiersync data-quality`",
                 entry.first, reason, entry.second->student_id, entry.second->date.ToString(), entry.second->detail);
  }
}

}  // namespace

Result<CycleSummary> RunCycle(const Config& config, Store& store, Date as_of, int64_t now_unix,
                              const CycleOptions& options) {
  CycleSummary summary;
  summary.as_of = as_of;
  auto should_stop = [&](const std::string& next_step) {
    if (!options.stop_requested || !options.stop_requested()) return false;
    summary.abandoned_before = next_step;
    spdlog::warn("stop requested; the cycle as of {} stops before {} and every earlier step is committed",
                 as_of.ToString(), next_step);
    return true;
  };
  std::mt19937_64 random(std::random_device{}());
  std::function<int64_t(int64_t)> random_below = options.random_below;
  if (!random_below) {
    random_below = [&random](int64_t bound) {
      return bound <= 1 ? int64_t{0} : std::uniform_int_distribution<int64_t>(0, bound - 1)(random);
    };
  }
  int school_year = config.engine.year_start.YearOf(as_of).start_year;
  StepTimer steps;
  try {
    std::unique_ptr<synergy::SynergyClient> synergy_client = MakeSynergyClient(config, options, random_below);
    // The nightly reconciliation drops file stamps from the lookup, so every file is read
    // and hashed again even when its size and modification time look unchanged.
    // Every cursor is read in one query. Each source looks up its origins' cursors before
    // it applies any of them, so the cursors as the cycle starts are the ones it needs.
    std::unordered_map<std::string, std::string> cursors = store.AllCursors();
    CursorLookup cursor = [&cursors, &options](const std::string& origin) -> std::optional<std::string> {
      auto stored = cursors.find(origin);
      if (stored == cursors.end()) return std::nullopt;
      if (options.full_reconciliation) return WithoutStamp(stored->second);
      return stored->second;
    };
    for (const auto& source_config : config.sources) {
      const auto* report_config = std::get_if<SynergyReportSourceConfig>(&source_config);
      SynergyReadPlan plan{as_of, config.engine.year_start, options.full_reconciliation};
      if (report_config != nullptr && !store.Meta(FullReadKey(report_config->name, school_year))) {
        plan.full_year = true;  // the first read of a school year takes all of it
      }
      summary.full_reconciliation = summary.full_reconciliation || (report_config != nullptr && plan.full_year);

      auto source = MakeSource(source_config, synergy_client.get(), plan);
      // NOTE: reading one source is one step, so a stop request waits for it. A Synergy
      // report job that never finishes delays the stop by up to synergy.report_timeout_seconds.
      if (should_stop("source " + source->name())) return summary;
      auto status = source->ReadEach(cursor, [&](Snapshot&& snapshot) {
        ApplyStats stats = store.ApplySnapshot(snapshot, config.engine.year_start);
        if (stats.skipped) {
          spdlog::debug("origin {} is unchanged since the last read; skipped", snapshot.origin);
        } else {
          spdlog::info("origin {}: read {} records, {} inserted, {} updated, {} deleted, {} rejected",
                       snapshot.origin, stats.read, stats.inserted, stats.updated, stats.deleted, stats.rejected);
        }
        if (stats.rejected > 0) {
          spdlog::warn("origin {}: {} records could not be read and were kept aside; see `tiersync data-quality`",
                       snapshot.origin, stats.rejected);
        }
        summary.origins.push_back({snapshot.origin, stats});
      });
      // The caller logs the error once. Origins of this source applied before the error
      // keep their records and cursors.
      if (!status) return status.error();
      if (report_config != nullptr && plan.full_year) {
        store.SetMeta(FullReadKey(report_config->name, school_year), as_of.ToString());
      }
    }

    if (should_stop("the tier engine")) return summary;
    double sources_ms = steps.Next();
    TierEngine engine(store, config.engine);
    summary.engine = engine.Run(as_of);
    double engine_ms = steps.Next();
    spdlog::info("tier engine at {}: {} students recomputed, {} evaluated, {} tier changes, {} actions queued",
                 as_of.ToString(), summary.engine.recomputed, summary.engine.evaluated, summary.engine.tier_changes,
                 summary.engine.actions_created);

    DeliveryPolicy policy{config.delivery.batch_size, config.delivery.max_attempts,
                          config.delivery.retry_base_seconds, config.delivery.retry_cap_seconds};
    auto notice_check = [&engine, as_of](const OutboxEntry& entry) { return engine.NoticeIneligibility(entry, as_of); };
    // NOTE: once delivery starts it sends every due batch, so a stop request waits for it.
    bool deliver = (config.file_sink || config.synergy_sink) && !should_stop("outbox delivery");
    if (deliver && config.file_sink) {
      FileSink sink(*config.file_sink);
      summary.delivery = DeliverOutbox(store, sink, policy, now_unix, random_below, notice_check);
    } else if (deliver && config.synergy_sink) {
      SynergyImportSink sink(*config.synergy_sink, *synergy_client);
      summary.delivery = DeliverOutbox(store, sink, policy, now_unix, random_below, notice_check);
    }
    if (summary.delivery.stopped) return *summary.delivery.stopped;
    double delivery_ms = steps.Next();

    auto kept_aside = store.ListKeptAside(school_year);
    summary.kept_aside_total = kept_aside.size();
    if (summary.engine.recomputed > 0) LogKeptAside(kept_aside);
    if (summary.engine.students_per_tier.empty()) {
      spdlog::warn("no student is enrolled by {} in school year {}; check --as-of and the enrollment source",
                   as_of.ToString(), SchoolYear{school_year}.Label());
    }
    summary.rejected_total = store.ListRejected().size();
    summary.outbox = store.OutboxCounts();
    spdlog::debug("cycle as of {} took {:.1f} ms reading sources, {:.1f} ms in the tier engine ({} students "
                  "evaluated in full, {} of them with no new decision, {} moved forward), {:.1f} ms delivering, "
                  "{:.1f} ms for the summary",
                  as_of.ToString(), sources_ms, engine_ms, summary.engine.evaluated, summary.engine.no_new_decision,
                  summary.engine.extended, delivery_ms, steps.Next());
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("store {} failed: {}; the transaction was rolled back and the next cycle starts over",
                  config.store_path, error.what());
    return Error{"store " + config.store_path + " failed: " + error.what()};
  }
  return summary;
}

std::string FormatSummary(const CycleSummary& summary, const Config& config) {
  std::ostringstream out;
  size_t students = 0;
  for (const auto& [tier, count] : summary.engine.students_per_tier) students += count;
  auto count_of = [&](int tier) {
    auto found = summary.engine.students_per_tier.find(tier);
    return found == summary.engine.students_per_tier.end() ? size_t{0} : found->second;
  };
  auto outbox = [&](const char* status) {
    auto found = summary.outbox.find(status);
    return found == summary.outbox.end() ? int64_t{0} : found->second;
  };
  size_t skipped = 0;
  for (const auto& origin : summary.origins) skipped += origin.stats.skipped ? 1 : 0;

  out << "tiersync sync as of " << summary.as_of.ToString() << " (school year "
      << config.engine.year_start.YearOf(summary.as_of).Label() << ", rules " << config.engine.rules.version << ")\n";
  out << "  records read: " << summary.RecordsRead() << " from " << summary.origins.size() - skipped << " of "
      << summary.origins.size() << " origins (" << skipped << " unchanged)\n";
  out << "  records changed: " << summary.RecordsChanged() << "\n";
  out << "  records kept aside: " << summary.kept_aside_total << " events that cannot count, "
      << summary.rejected_total << " unreadable records (see tiersync data-quality)\n";
  out << "  students recomputed: " << summary.engine.recomputed << ", evaluated: " << summary.engine.evaluated << "\n";
  out << "  students per tier: " << students << " students; Tier 1: " << count_of(1);
  int max_tier = config.engine.rules.thresholds.back().tier;
  for (int tier = 2; tier <= max_tier; ++tier) out << ", Tier " << tier << ": " << count_of(tier);
  out << "\n";
  out << "  tier changes recorded: " << summary.engine.tier_changes << " (" << summary.engine.superseded
      << " superseded by corrected data)\n";
  out << "  tasks created: " << summary.engine.actions_created << "; delivered: " << summary.delivery.delivered
      << "; outbox pending: " << outbox("pending") << ", dead letters: " << outbox("dead") << "\n";
  out << "  notices released: " << summary.engine.notices_released << ", cancelled: "
      << summary.engine.notices_cancelled + summary.delivery.cancelled << ", merged into household notices: "
      << summary.engine.notices_merged << "; held: " << outbox("held")
      << ", awaiting approval: " << outbox("awaiting_approval") << "\n";
  return out.str();
}

}  // namespace tiersync
