#include "daemon/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <set>
#include <thread>

#include "config/config.h"
#include "daemon/cycle.h"
#include "daemon/http_server.h"
#include "daemon/metrics.h"
#include "daemon/push.h"
#include "daemon/schedule.h"
#include "daemon/status_json.h"
#include "daemon/systemd_notify.h"
#include "store/store.h"

namespace tiersync {

namespace asio = boost::asio;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitConfig = 2;

// The same clock the cycle timer uses. std::time may read a coarse clock that lags it by a
// few milliseconds, which would put a timer that just fired back before its own slot.
int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string UtcText(int64_t unix_seconds) {
  std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// Reads the push bearer token: the file's first line without surrounding whitespace.
Result<std::string> ReadToken(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return Error{"cannot read the push token file " + path + "; check that it exists and is readable"};
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  size_t start = 0;
  while (start < token.size() && std::isspace(static_cast<unsigned char>(token[start]))) ++start;
  token = token.substr(start);
  if (token.size() < 16) {
    return Error{"the push token in " + path + " is shorter than 16 characters; write a long random token"};
  }
  return token;
}

// Compares in time independent of where the inputs differ.
bool SameSecret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % (expected.empty() ? 1 : expected.size())]);
  }
  return difference == 0 && !expected.empty();
}

HttpResponse JsonResponse(int status, const std::string& body) {
  HttpResponse response;
  response.status = status;
  response.body = body;
  return response;
}

std::string JsonEscape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  return JsonResponse(status, "{\"error\":\"" + JsonEscape(message) + "\"}\n");
}

// The instructional dates in the store and the school years any calendar covers.
struct CalendarCache {
  std::set<int32_t> instructional_days;
  std::set<int> school_years;
};

CalendarCache LoadCalendarCache(Store& store) {
  CalendarCache cache;
  auto days = store.db().Prepare("SELECT DISTINCT date FROM calendar_day");
  while (days.Step()) cache.instructional_days.insert(static_cast<int32_t>(days.Int(0)));
  auto years = store.db().Prepare("SELECT DISTINCT school_year FROM calendar_day");
  while (years.Step()) cache.school_years.insert(static_cast<int>(years.Int(0)));
  return cache;
}

// A thread with its own io_context and store connection; work posted to it runs in order.
class Worker {
 public:
  explicit Worker(std::string name) : name_(std::move(name)), guard_(asio::make_work_guard(io_)) {}
  ~Worker() { Join(); }

  void Start(std::unique_ptr<Store> store) {
    store_ = std::move(store);
    thread_ = std::thread([this] {
      try {
        io_.run();
      } catch (const std::exception& error) {
        spdlog::critical("{} thread stopped on an unexpected error: {}", name_, error.what());
        std::abort();
      }
    });
  }

  template <typename Function>
  void Post(Function&& function) {
    asio::post(io_, std::forward<Function>(function));
  }

  // Lets queued work finish, then ends the thread.
  void Join() {
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }

  Store& store() { return *store_; }

 private:
  std::string name_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<Store> store_;
  std::thread thread_;
};

class Service {
 public:
  explicit Service(ServiceOptions options)
      : options_(std::move(options)),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        cycle_timer_(io_),
        watchdog_timer_(io_),
        cycle_worker_("cycle"),
        ingest_worker_("ingest") {}

  int Run();

 private:
  int Start();
  void WaitForSignal();
  void OnSignal(int signal_number);
  void Reload();
  void RequestStop(const char* signal_name);
  void FinishStop();

  // Arms the timer for the first slot after `after_unix` (default: now).
  void ScheduleNext(int64_t after_unix = 0);
  void OnTimer(PlannedCycle planned);
  void StartCycle(CycleKind kind, const std::string& reason);
  void OnCycleFinished(LastCycle cycle, std::optional<CalendarCache> calendar);
  bool RunsOn(Date date) const;
  Date AsOf() const;

  void PingWatchdog();

  void Handle(HttpRequest request, HttpRespond respond);
  void HandlePush(HttpRequest request, HttpRespond respond);
  void HandleCycleRequest(const HttpRequest& request, HttpRespond respond);
  HttpResponse Ready();
  HttpResponse Status();
  std::map<std::string, int64_t> OutboxCountsOrEmpty(bool& store_open);
  bool Authorized(const HttpRequest& request) const;

  ServiceOptions options_;
  std::optional<Date> fixed_as_of_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::system_timer cycle_timer_;
  asio::steady_timer watchdog_timer_;
  std::unique_ptr<HttpServer> http_;
  Metrics metrics_;
  std::string started_at_;

  // Used on the main thread only.
  std::shared_ptr<const Config> config_;
  std::string push_token_;
  std::unique_ptr<Store> main_store_;  // reads for /metrics, /readyz and /status
  CalendarCache calendar_;
  std::optional<PlannedCycle> next_cycle_;
  bool cycle_running_ = false;
  std::optional<CycleKind> waiting_cycle_;  // queued while a cycle runs; full wins
  int64_t cycle_number_ = 0;
  bool stopping_ = false;
  std::chrono::microseconds watchdog_interval_{0};

  // Read by the cycle thread between steps.
  std::atomic<bool> stop_requested_{false};

  // Declared last so they are joined first, while everything above still exists.
  Worker cycle_worker_;
  Worker ingest_worker_;
};

int Service::Run() {
  int status = Start();
  if (status != kExitOk) return status;
  io_.run();
  cycle_worker_.Join();
  ingest_worker_.Join();
  spdlog::info("tiersync stopped");
  return kExitOk;
}

int Service::Start() {
  started_at_ = UtcText(NowUnix());
  auto loaded = LoadConfig(options_.config_path);
  if (!loaded) {
    spdlog::error("invalid configuration: {}; the service does not start", loaded.error().message);
    return kExitConfig;
  }
  config_ = std::make_shared<const Config>(std::move(*loaded));
  UseTimeZone(config_->time_zone);

  if (options_.as_of) {
    fixed_as_of_ = Date::Parse(*options_.as_of);
    if (!fixed_as_of_) {
      spdlog::error("--as-of '{}' is not a date; give it as YYYY-MM-DD", *options_.as_of);
      return kExitConfig;
    }
  }

  auto token = ReadToken(config_->service.push.token_file);
  if (!token) {
    spdlog::error("{}; the service does not start", token.error().message);
    return kExitConfig;
  }
  push_token_ = *token;

  // Three connections: reads on this thread, cycles, and pushed batches.
  std::unique_ptr<Store> stores[3];
  for (auto& store : stores) {
    auto opened = Store::Open(config_->store_path);
    if (!opened) {
      spdlog::error("{}; the service does not start", opened.error().message);
      return kExitFailed;
    }
    store = std::move(*opened);
  }
  main_store_ = std::move(stores[0]);
  try {
    calendar_ = LoadCalendarCache(*main_store_);
  } catch (const sqlite::SqliteError& error) {
    spdlog::error("reading calendars from store {} failed: {}; the service does not start", config_->store_path,
                  error.what());
    return kExitFailed;
  }
  cycle_worker_.Start(std::move(stores[1]));
  ingest_worker_.Start(std::move(stores[2]));

  HttpServerLimits limits;
  limits.max_body_bytes = config_->service.push.max_body_bytes;
  http_ = std::make_unique<HttpServer>(
      io_, [this](HttpRequest request, HttpRespond respond) { Handle(std::move(request), std::move(respond)); },
      limits);
  auto port = http_->Listen(config_->service.listen_address, config_->service.port);
  if (!port) {
    spdlog::error("{}; the service does not start", port.error().message);
    return kExitFailed;
  }
  spdlog::info("listening on http://{}:{} (healthz, readyz, metrics, status{})", config_->service.listen_address,
               *port, push_token_.empty() ? "; push disabled because service.push has no token" : ", v1/attendance");
  if (!config_->service.port_file.empty()) {
    std::ofstream out(config_->service.port_file, std::ios::trunc);
    out << *port << "\n";
    if (!out) {
      spdlog::error("cannot write the port file {}; the service does not start", config_->service.port_file);
      return kExitFailed;
    }
  }

  WaitForSignal();
  if (RunsOn(AsOf()) || config_->service.schedule.run_on_closed_days) {
    StartCycle(CycleKind::kIncremental, "startup");
  } else {
    spdlog::info("no cycle at startup: {} is not an instructional day in any school calendar", AsOf().ToString());
  }
  ScheduleNext();

  uint64_t watchdog = WatchdogIntervalMicroseconds();
  if (watchdog > 0) {
    watchdog_interval_ = std::chrono::microseconds(watchdog / 2);
    PingWatchdog();
  }
  NotifyReady("Running; district " + config_->district_name);
  spdlog::info("tiersync started for {} with store {}", config_->district_name, config_->store_path);
  return kExitOk;
}

// --- Signals -----------------------------------------------------------------------------

void Service::WaitForSignal() {
  signals_.async_wait([this](const boost::system::error_code& error, int signal_number) {
    if (error) return;  // cancelled at stop
    OnSignal(signal_number);
    WaitForSignal();
  });
}

void Service::OnSignal(int signal_number) {
  if (signal_number == SIGHUP) {
    if (stopping_) {
      spdlog::info("SIGHUP ignored: the service is stopping");
      return;
    }
    Reload();
    return;
  }
  RequestStop(signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
}

void Service::Reload() {
  NotifyReloading();
  spdlog::info("SIGHUP: reloading the configuration from {}", options_.config_path);

  auto reject = [this](const std::string& reason) {
    metrics_.RecordReload(false);
    spdlog::error("configuration reload rejected: {}; the service keeps running with the previous configuration",
                  reason);
    NotifyReady("Running; last reload rejected, see the log");
  };

  auto loaded = LoadConfig(options_.config_path);
  if (!loaded) return reject(loaded.error().message);
  const Config& current = *config_;
  if (loaded->store_path != current.store_path) {
    return reject("store.path changed from " + current.store_path + " to " + loaded->store_path +
                  ", which takes a restart");
  }
  if (loaded->service.listen_address != current.service.listen_address ||
      loaded->service.port != current.service.port) {
    return reject("service.listen_address or service.port changed, which takes a restart");
  }
  auto token = ReadToken(loaded->service.push.token_file);
  if (!token) return reject(token.error().message);

  config_ = std::make_shared<const Config>(std::move(*loaded));
  push_token_ = *token;
  UseTimeZone(config_->time_zone);
  metrics_.RecordReload(true);
  spdlog::info("configuration reloaded: rules {}, {} sources; the next cycle uses it{}", config_->engine.rules.version,
               config_->sources.size(), cycle_running_ ? " (the running cycle keeps the previous one)" : "");
  ScheduleNext();
  NotifyReady("Running; configuration reloaded");
}

void Service::RequestStop(const char* signal_name) {
  if (stopping_) {
    spdlog::info("{} again: still waiting for cycle {} to finish its current step", signal_name, cycle_number_);
    return;
  }
  stopping_ = true;
  stop_requested_ = true;
  NotifyStopping("Stopping");
  cycle_timer_.cancel();
  http_->Close();
  if (cycle_running_) {
    spdlog::info("{}: stopping after cycle {} finishes its current step", signal_name, cycle_number_);
    return;  // OnCycleFinished calls FinishStop
  }
  spdlog::info("{}: stopping; no cycle is running", signal_name);
  FinishStop();
}

void Service::FinishStop() {
  // Pushed batches already queued are stored before the ingest thread ends.
  ingest_worker_.Join();
  cycle_worker_.Join();
  signals_.cancel();
  watchdog_timer_.cancel();
  io_.stop();
}

// --- Schedule and cycles ---------------------------------------------------------------

Date Service::AsOf() const { return fixed_as_of_ ? *fixed_as_of_ : ToLocal(NowUnix()).date; }

bool Service::RunsOn(Date date) const {
  if (calendar_.instructional_days.count(date.days())) return true;
  // A school year no calendar covers yet (its calendar arrives with the first cycles) runs.
  int school_year = config_->engine.year_start.YearOf(date).start_year;
  return calendar_.school_years.count(school_year) == 0;
}

void Service::ScheduleNext(int64_t after_unix) {
  if (stopping_) return;
  int64_t after = std::max(after_unix, NowUnix());
  PlannedCycle planned = NextCycle(config_->service.schedule, after, [this](Date date) { return RunsOn(date); });
  next_cycle_ = planned;
  cycle_timer_.expires_at(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(planned.start_unix)));
  cycle_timer_.async_wait([this, planned](const boost::system::error_code& error) {
    if (error) return;  // cancelled by a reload or a stop
    OnTimer(planned);
  });
  if (planned.recheck_only) {
    spdlog::info("no school day in the next 400 days; checking the calendars again at {}",
                 UtcText(planned.start_unix));
  } else {
    spdlog::debug("next cycle: {} at {} (local {} {:02}:{:02})", CycleKindName(planned.kind),
                  UtcText(planned.start_unix), planned.local_date.ToString(), planned.local_minute / 60,
                  planned.local_minute % 60);
  }
}

void Service::OnTimer(PlannedCycle planned) {
  if (!planned.recheck_only) {
    if (cycle_running_) {
      metrics_.RecordOverrun();
      spdlog::warn("cycle {} is still running at the scheduled start of a {} cycle; that cycle starts when it finishes",
                   cycle_number_, CycleKindName(planned.kind));
      if (!waiting_cycle_ || planned.kind == CycleKind::kFull) waiting_cycle_ = planned.kind;
    } else {
      StartCycle(planned.kind, "schedule");
    }
  }
  // Never the slot that just fired, even if the clock reads a moment before it.
  ScheduleNext(planned.start_unix);
}

void Service::StartCycle(CycleKind kind, const std::string& reason) {
  cycle_running_ = true;
  metrics_.set_cycle_running(true);
  int64_t number = ++cycle_number_;
  std::shared_ptr<const Config> config = config_;
  Date as_of = AsOf();
  spdlog::info("cycle {} started: {} as of {} ({})", number, CycleKindName(kind), as_of.ToString(), reason);
  NotifyStatus("Running cycle " + std::to_string(number));

  cycle_worker_.Post([this, number, kind, config, as_of] {
    LastCycle cycle;
    cycle.number = number;
    cycle.kind = kind;
    cycle.as_of = as_of.ToString();
    cycle.started_at = UtcText(NowUnix());
    auto start = std::chrono::steady_clock::now();

    CycleOptions options;
    options.full_reconciliation = kind == CycleKind::kFull;
    options.stop_requested = [this] { return stop_requested_.load(); };
    Store& store = cycle_worker_.store();
    auto result = RunCycle(*config, store, as_of, NowUnix(), options);
    cycle.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (!result) {
      cycle.outcome = CycleOutcome::kFailed;
      cycle.error = result.error().message;
    } else {
      const CycleSummary& summary = *result;
      cycle.outcome = summary.abandoned_before.empty() ? CycleOutcome::kSucceeded : CycleOutcome::kAbandoned;
      cycle.abandoned_before = summary.abandoned_before;
      cycle.records_read = summary.RecordsRead();
      cycle.records_changed = summary.RecordsChanged();
      cycle.tier_changes = summary.engine.tier_changes;
      cycle.actions_queued = summary.engine.actions_created;
      cycle.delivered = summary.delivery.delivered;
      cycle.students_per_tier = summary.engine.students_per_tier;
    }
    metrics_.RecordCycle(cycle, result ? &*result : nullptr);

    std::optional<CalendarCache> calendar;
    try {
      store.SetMeta(kLastCycleMetaKey, LastCycleJson(cycle));
      calendar = LoadCalendarCache(store);
    } catch (const sqlite::SqliteError& error) {
      spdlog::error("recording cycle {} in store {} failed: {}; `tiersync status` shows an older cycle", number,
                    config->store_path, error.what());
    }
    asio::post(io_, [this, cycle, calendar = std::move(calendar)]() mutable {
      OnCycleFinished(std::move(cycle), std::move(calendar));
    });
  });
}

void Service::OnCycleFinished(LastCycle cycle, std::optional<CalendarCache> calendar) {
  cycle_running_ = false;
  metrics_.set_cycle_running(false);
  if (calendar) calendar_ = std::move(*calendar);

  switch (cycle.outcome) {
    case CycleOutcome::kSucceeded:
      spdlog::info("cycle {} succeeded in {:.2f} s: {} records read, {} changed, {} tier changes, {} actions queued, "
                   "{} delivered",
                   cycle.number, cycle.duration_seconds, cycle.records_read, cycle.records_changed, cycle.tier_changes,
                   cycle.actions_queued, cycle.delivered);
      break;
    case CycleOutcome::kFailed:
      spdlog::error("cycle {} failed after {:.2f} s: {}; the next scheduled cycle tries again", cycle.number,
                    cycle.duration_seconds, cycle.error);
      break;
    case CycleOutcome::kAbandoned:
      spdlog::warn("cycle {} abandoned before {} after {:.2f} s; every earlier step is committed", cycle.number,
                   cycle.abandoned_before, cycle.duration_seconds);
      break;
  }

  if (stopping_) {
    FinishStop();
    return;
  }
  NotifyStatus("Idle; last cycle " + std::string(CycleOutcomeName(cycle.outcome)));
  if (waiting_cycle_) {
    CycleKind kind = *waiting_cycle_;
    waiting_cycle_.reset();
    StartCycle(kind, "waited for the previous cycle");
  }
}

void Service::PingWatchdog() {
  // Sent from the main loop, so a blocked loop stops the pings and systemd restarts the
  // service. NOTE: a cycle thread that hangs does not stop the pings; /readyz and
  // tiersync_cycle_running show it.
  NotifyWatchdog();
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) PingWatchdog();
  });
}

// --- HTTP ---------------------------------------------------------------------------------

bool Service::Authorized(const HttpRequest& request) const {
  const std::string prefix = "Bearer ";
  std::string header = request.Header("authorization");
  if (header.compare(0, prefix.size(), prefix) != 0) return false;
  return SameSecret(header.substr(prefix.size()), push_token_);
}

std::map<std::string, int64_t> Service::OutboxCountsOrEmpty(bool& store_open) {
  try {
    store_open = true;
    return main_store_->OutboxCounts();
  } catch (const sqlite::SqliteError& error) {
    spdlog::warn("reading outbox counts from store {} failed: {}", config_->store_path, error.what());
    store_open = false;
    return {};
  }
}

HttpResponse Service::Ready() {
  bool store_open = true;
  std::string store_state = "open";
  try {
    main_store_->SchemaVersion();
  } catch (const sqlite::SqliteError& error) {
    store_open = false;
    store_state = std::string("error: ") + error.what();
  }
  LastCycle last = metrics_.last_cycle();
  std::string last_state = last.number == 0 ? "none" : CycleOutcomeName(last.outcome);
  bool ready = store_open && !stopping_ && !(last.number > 0 && last.outcome == CycleOutcome::kFailed);
  std::string body = std::string("{\"ready\":") + (ready ? "true" : "false") + ",\"store\":\"" +
                     JsonEscape(store_state) + "\",\"last_cycle\":\"" + last_state + "\",\"stopping\":" +
                     (stopping_ ? "true" : "false") + "}\n";
  return JsonResponse(ready ? 200 : 503, body);
}

HttpResponse Service::Status() {
  ServiceStatus status;
  status.district = config_->district_name;
  status.config_path = options_.config_path;
  status.started_at = started_at_;
  status.state = "idle";
  if (cycle_running_) status.state = "running a cycle";
  if (stopping_) status.state = "stopping";
  status.last_cycle = metrics_.last_cycle();
  if (next_cycle_ && !next_cycle_->recheck_only && !stopping_) {
    status.next_cycle_at = UtcText(next_cycle_->start_unix);
    status.next_cycle_kind = CycleKindName(next_cycle_->kind);
  }
  bool store_open = true;
  status.outbox = OutboxCountsOrEmpty(store_open);
  status.push_enabled = !push_token_.empty();
  return JsonResponse(200, ServiceStatusJson(status));
}

void Service::Handle(HttpRequest request, HttpRespond respond) {
  const std::string& path = request.path;
  bool is_get = request.method == "GET" || request.method == "HEAD";
  auto method_not_allowed = [&](const char* allowed) {
    HttpResponse response = ErrorResponse(405, "use " + std::string(allowed) + " for " + path);
    response.headers.emplace_back("Allow", allowed);
    respond(std::move(response));
  };

  if (path == "/healthz") {
    if (!is_get) return method_not_allowed("GET");
    HttpResponse response;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "ok\n";
    return respond(std::move(response));
  }
  if (path == "/readyz") return is_get ? respond(Ready()) : method_not_allowed("GET");
  if (path == "/status") return is_get ? respond(Status()) : method_not_allowed("GET");
  if (path == "/metrics") {
    if (!is_get) return method_not_allowed("GET");
    bool store_open = true;
    auto outbox = OutboxCountsOrEmpty(store_open);
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics_.RenderPrometheus(outbox, store_open);
    return respond(std::move(response));
  }
  if (path == "/v1/attendance") {
    if (request.method != "POST") return method_not_allowed("POST");
    return HandlePush(std::move(request), std::move(respond));
  }
  if (path == "/v1/cycles") {
    if (request.method != "POST") return method_not_allowed("POST");
    return HandleCycleRequest(request, std::move(respond));
  }
  respond(ErrorResponse(404, "no endpoint " + path + "; see /status, /metrics, /healthz, /readyz, /v1/attendance"));
}

void Service::HandleCycleRequest(const HttpRequest& request, HttpRespond respond) {
  if (push_token_.empty()) return respond(ErrorResponse(503, "set service.push.token_file to enable POST endpoints"));
  if (!Authorized(request)) return respond(ErrorResponse(401, "missing or wrong bearer token"));
  if (stopping_) return respond(ErrorResponse(503, "the service is stopping"));
  CycleKind kind = CycleKind::kIncremental;
  if (request.query == "kind=full") {
    kind = CycleKind::kFull;
  } else if (!request.query.empty() && request.query != "kind=incremental") {
    return respond(ErrorResponse(400, "query '" + request.query + "' is invalid; use kind=incremental or kind=full"));
  }
  if (cycle_running_) {
    if (!waiting_cycle_ || kind == CycleKind::kFull) waiting_cycle_ = kind;
    spdlog::info("{} cycle requested over HTTP; it starts when cycle {} finishes", CycleKindName(kind), cycle_number_);
    return respond(JsonResponse(202, "{\"queued\":\"" + std::string(CycleKindName(kind)) +
                                         "\",\"after_cycle\":" + std::to_string(cycle_number_) + "}\n"));
  }
  StartCycle(kind, "requested over HTTP");
  respond(JsonResponse(202, "{\"started\":" + std::to_string(cycle_number_) + ",\"kind\":\"" +
                                CycleKindName(kind) + "\"}\n"));
}

void Service::HandlePush(HttpRequest request, HttpRespond respond) {
  if (push_token_.empty()) {
    metrics_.RecordPush(false, 0, 0);
    return respond(ErrorResponse(503, "the push endpoint is disabled; set service.push.token_file"));
  }
  if (!Authorized(request)) {
    metrics_.RecordPush(false, 0, 0);
    spdlog::warn("push rejected with 401: missing or wrong bearer token");
    HttpResponse response = ErrorResponse(401, "missing or wrong bearer token");
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return respond(std::move(response));
  }
  if (stopping_) {
    metrics_.RecordPush(false, 0, 0);
    spdlog::warn("push rejected with 503: the service is stopping; the client should retry after the restart");
    return respond(ErrorResponse(503, "the service is stopping; nothing was stored; retry later"));
  }
  auto batch_id = ResolveBatchId(request.Header("x-batch-id"), request.body);
  if (!batch_id) {
    metrics_.RecordPush(false, 0, 0);
    return respond(ErrorResponse(400, batch_id.error().message));
  }
  auto batch = ParsePushBatch(request.Header("content-type"), request.body, *batch_id, config_->engine.rules,
                              config_->service.push.date_format);
  if (!batch) {
    metrics_.RecordPush(false, 0, 0);
    spdlog::warn("push batch {} rejected and nothing stored: {}", *batch_id, batch.error().message);
    int status = batch.error().message.rfind("Content-Type", 0) == 0 ? 415 : 400;
    return respond(ErrorResponse(status, batch.error().message));
  }

  std::shared_ptr<const Config> config = config_;
  auto shared_batch = std::make_shared<PushBatch>(std::move(*batch));
  ingest_worker_.Post([this, config, shared_batch, respond = std::move(respond)] {
    PushBatch& pushed = *shared_batch;
    Store& store = ingest_worker_.store();
    try {
      if (store.Cursor(pushed.snapshot.origin) == pushed.snapshot.cursor) pushed.snapshot.unchanged = true;
      ApplyStats stats = store.ApplySnapshot(pushed.snapshot, config->engine.year_start);
      metrics_.RecordPush(true, pushed.stored, pushed.rejected);
      spdlog::info("push batch {}: {} records, {} stored ({} inserted, {} updated, {} deleted), {} rejected{}",
                   pushed.batch_id, pushed.results.size(), pushed.stored, stats.inserted, stats.updated, stats.deleted,
                   pushed.rejected, stats.skipped ? "; same as the stored batch, nothing changed" : "");
      respond(JsonResponse(200, PushResponseJson(pushed, stats)));
    } catch (const sqlite::SqliteError& error) {
      metrics_.RecordPush(false, 0, 0);
      spdlog::error("storing push batch {} in {} failed: {}; nothing from it was stored, the client should retry",
                    pushed.batch_id, config->store_path, error.what());
      respond(ErrorResponse(503, "storing the batch failed; nothing was stored; retry later"));
    }
  });
}

}  // namespace

int RunService(const ServiceOptions& options) {
  Service service(options);
  return service.Run();
}

}  // namespace tiersync
