#include "daemon/commands.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <map>
#include <ostream>

#include "config/config.h"
#include "daemon/cycle.h"

namespace tiersync {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

std::optional<Config> LoadOrReport(const std::string& config_path) {
  auto config = LoadConfig(config_path);
  if (!config) {
    spdlog::error("invalid configuration: {}", config.error().message);
    return std::nullopt;
  }
  return std::move(*config);
}

std::optional<Date> ParseAsOf(const std::string& text) {
  auto date = Date::Parse(text);
  if (!date) spdlog::error("--as-of '{}' is not a date; give it as YYYY-MM-DD, e.g. 2022-05-27", text);
  return date;
}

std::string JsonString(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// Opens the store read-only for reporting commands.
std::unique_ptr<Store> OpenForReading(const Config& config) {
  auto store = Store::Open(config.store_path, Store::Mode::kReadOnly);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace

int CommandSync(const std::string& config_path, const std::optional<std::string>& as_of_text, std::ostream& out,
                bool reconcile) {
  auto config = LoadOrReport(config_path);
  if (!config) return kExitUsage;
  Date as_of = TodayIn(config->time_zone);
  if (as_of_text) {
    auto parsed = ParseAsOf(*as_of_text);
    if (!parsed) return kExitUsage;
    as_of = *parsed;
  }

  auto store = Store::Open(config->store_path);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return kExitFailed;
  }
  CycleOptions options;
  options.full_reconciliation = reconcile;
  auto summary = RunCycle(*config, **store, as_of, static_cast<int64_t>(std::time(nullptr)), options);
  if (!summary) {
    spdlog::error("sync failed and the cycle stopped: {}; nothing was lost, and the next sync resumes from here",
                  summary.error().message);
    return kExitFailed;
  }
  out << FormatSummary(*summary, *config);
  return summary->delivery.failed + summary->delivery.dead_lettered > 0 ? kExitFailed : kExitOk;
}

int CommandTiers(const std::string& config_path, const std::string& as_of_text, const std::string& format,
                 std::ostream& out) {
  auto config = LoadOrReport(config_path);
  if (!config) return kExitUsage;
  auto as_of = ParseAsOf(as_of_text);
  if (!as_of) return kExitUsage;
  auto store = OpenForReading(*config);
  if (!store) return kExitFailed;

  try {
    TierEngine engine(*store, config->engine);
    std::vector<StudentTier> tiers = engine.ComputeTiers(*as_of);
    if (tiers.empty()) {
      spdlog::warn("no student is enrolled by {} in store {}; run `tiersync sync` to load the sources",
                   as_of->ToString(), config->store_path);
    }
    auto rate = [](const StudentTier& tier) {
      return tier.totals.enrolled > 0 ? FormatRatio(tier.totals.absent, tier.totals.enrolled, 4) : std::string("0.0000");
    };
    if (format == "json") {
      out << "[";
      for (size_t i = 0; i < tiers.size(); ++i) {
        const auto& tier = tiers[i];
        out << (i ? ",\n " : "\n ") << "{\"student_id\":" << JsonString(tier.student_id)
            << ",\"school_id\":" << JsonString(tier.school_id)
            << ",\"enrolled_days\":" << FormatDayUnits(tier.totals.enrolled)
            << ",\"absent_days\":" << FormatDayUnits(tier.totals.absent)
            << ",\"excused_days\":" << FormatDayUnits(tier.totals.excused)
            << ",\"unexcused_days\":" << FormatDayUnits(tier.totals.unexcused)
            << ",\"absence_rate\":" << rate(tier) << ",\"tier\":" << tier.tier << "}";
      }
      out << "\n]\n";
    } else {
      out << "student_id,school_id,enrolled_days,absent_days,excused_days,unexcused_days,absence_rate,tier\n";
      for (const auto& tier : tiers) {
        out << CsvField(tier.student_id) << "," << CsvField(tier.school_id) << ","
            << FormatDayUnits(tier.totals.enrolled) << "," << FormatDayUnits(tier.totals.absent) << ","
            << FormatDayUnits(tier.totals.excused) << "," << FormatDayUnits(tier.totals.unexcused) << ","
            << rate(tier) << "," << tier.tier << "\n";
      }
    }
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("reading store {} failed: {}", config->store_path, error.what());
    return kExitFailed;
  }
  return kExitOk;
}

int CommandExplain(const std::string& config_path, const std::string& student_id, const std::string& as_of_text,
                   std::ostream& out) {
  auto config = LoadOrReport(config_path);
  if (!config) return kExitUsage;
  auto as_of = ParseAsOf(as_of_text);
  if (!as_of) return kExitUsage;
  auto store = OpenForReading(*config);
  if (!store) return kExitFailed;
  try {
    TierEngine engine(*store, config->engine);
    auto text = engine.Explain(student_id, *as_of);
    if (!text) {
      spdlog::error("student {} has no enrollment or attendance event in school year {} in store {}; check the id",
                    student_id, config->engine.year_start.YearOf(*as_of).Label(), config->store_path);
      return kExitFailed;
    }
    out << *text;
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("reading store {} failed: {}", config->store_path, error.what());
    return kExitFailed;
  }
  return kExitOk;
}

int CommandCheckConfig(const std::string& config_path, std::ostream& out) {
  auto config = LoadOrReport(config_path);
  if (!config) return kExitUsage;
  size_t actions = 0;
  for (const auto& rule : config->engine.playbook.rules) actions += rule.actions.size();
  out << config_path << ": valid\n"
      << "  store: " << config->store_path << "\n"
      << "  rules version: " << config->engine.rules.version << " (" << config->engine.rules.codes.size()
      << " attendance codes, " << config->engine.rules.thresholds.size() + 1 << " tiers)\n"
      << "  playbook: " << config->playbook_path << " (" << config->engine.playbook.rules.size() << " rules, "
      << actions << " actions)\n"
      << "  sources: " << config->sources.size() << "\n"
      << "  sink: "
      << (config->file_sink      ? "file, " + config->file_sink->directory
          : config->synergy_sink ? "synergy ImportData at " + config->synergy->http.url
                                 : std::string("none"))
      << "\n";
  return kExitOk;
}

int CommandDataQuality(const std::string& config_path, const std::string& format, std::ostream& out) {
  auto config = LoadOrReport(config_path);
  if (!config) return kExitUsage;
  auto store = OpenForReading(*config);
  if (!store) return kExitFailed;

  try {
    auto kept = store->ListKeptAside(std::nullopt);
    auto rejected = store->ListRejected();
    if (format == "csv") {
      out << "kind,reason,student_id,date,school_id,period,code,detail,location\n";
      for (const auto& row : kept) {
        out << "kept_aside_event," << row.reason << "," << CsvField(row.student_id) << "," << row.date.ToString()
            << "," << CsvField(row.school_id) << "," << CsvField(row.period) << "," << CsvField(row.category) << ","
            << CsvField(row.detail) << ",\n";
      }
      for (const auto& row : rejected) {
        out << "unreadable_record,,,,,,," << CsvField(row.reason + " | " + row.raw) << "," << CsvField(row.location)
            << "\n";
      }
      return kExitOk;
    }

    std::map<std::string, size_t> by_reason;
    for (const auto& row : kept) ++by_reason[row.reason];
    out << "Data-quality report for " << config->store_path << "\n\n";
    out << "Attendance events kept aside (not counted): " << kept.size() << "\n";
    for (const auto& [reason, count] : by_reason) out << "  " << reason << ": " << count << "\n";
    for (const auto& row : kept) {
      out << "  - student " << row.student_id << ", " << row.date.ToString() << ", school " << row.school_id
          << (row.period.empty() ? "" : ", period " + row.period) << ", code '" << row.category << "': " << row.reason
          << " (" << row.detail << ")\n";
    }

    out << "\nRecords that could not be read: " << rejected.size() << "\n";
    for (const auto& row : rejected) {
      out << "  - " << row.location << ": " << row.reason << (row.raw.empty() ? "" : " [" + row.raw + "]") << "\n";
    }

    // Cross-check each Ed-Fi session's declared instructional days against the calendar.
    auto sessions = store->ListSessions();
    if (!sessions.empty()) {
      out << "\nSessions checked against the calendar:\n";
      for (const auto& session : sessions) {
        int year = config->engine.year_start.YearOf(session.begin_date).start_year;
        CalendarSet calendars = store->LoadCalendars(year);
        const SchoolCalendar* calendar = calendars.Find(session.school_id);
        long counted = 0;
        if (calendar != nullptr) {
          auto [begin, end] = calendar->Range(session.begin_date, session.end_date);
          counted = end - begin;
        }
        bool matches = counted == session.total_instructional_days;
        out << "  school " << session.school_id << ", " << session.name << ": declares "
            << session.total_instructional_days << " instructional days, calendar has " << counted
            << (matches ? " (matches)" : " (MISMATCH: check the calendar source)") << "\n";
      }
    }
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("reading store {} failed: {}", config->store_path, error.what());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tiersync
