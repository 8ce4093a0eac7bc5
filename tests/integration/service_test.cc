// The real `tiersync run` process: endpoints over HTTP on 127.0.0.1, pushed batches,
// SIGHUP reloads, SIGTERM during a cycle and the operator commands, against a real SQLite
// store. systemd notifications go to a datagram socket the test owns.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "store/store.h"
#include "tests/support/test_support.h"

namespace tiersync {
namespace {

using testing::ReadText;
using testing::RunCommand;
using testing::TempDir;
using testing::TiersyncBinary;
using testing::WriteText;

constexpr auto kReadyWait = std::chrono::seconds(60);
constexpr const char* kToken = "test-token-0123456789abcdef";
constexpr const char* kAsOf = "2022-05-27";

// Polls `condition` every 20 ms until it is true or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kReadyWait) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot bind notify socket " + path);
    }
  }
  ~NotifySocket() { close(fd_); }

  const std::string& path() const { return path_; }

  // Reads every message that arrives within `timeout` of the previous one.
  void Drain(std::chrono::milliseconds timeout = std::chrono::milliseconds(50)) {
    char buffer[4096];
    pollfd descriptor{fd_, POLLIN, 0};
    while (poll(&descriptor, 1, static_cast<int>(timeout.count())) > 0) {
      ssize_t size = recv(fd_, buffer, sizeof buffer, 0);
      if (size <= 0) break;
      messages_.emplace_back(buffer, static_cast<size_t>(size));
    }
  }

  // Waits for a message containing `text` after the first `skip` messages; returns its index.
  int WaitForMessage(const std::string& text, size_t skip = 0) {
    int found = -1;
    WaitFor([&] {
      Drain(std::chrono::milliseconds(10));
      for (size_t i = skip; i < messages_.size(); ++i) {
        if (messages_[i].find(text) != std::string::npos) {
          found = static_cast<int>(i);
          return true;
        }
      }
      return false;
    });
    return found;
  }

  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
};

// One HTTP/1.1 request to 127.0.0.1 with Connection: close.
HttpReply Http(int port, const std::string& method, const std::string& target, const std::string& body = "",
               const std::vector<std::string>& headers = {}) {
  HttpReply reply;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return reply;
  }
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& header : headers) request += header + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[65536];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<size_t>(n));
  close(fd);

  auto header_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos) return reply;
  reply.status = std::stoi(response.substr(9, 3));
  reply.headers = response.substr(0, header_end);
  reply.body = response.substr(header_end + 4);
  return reply;
}

std::string AuthHeader() { return std::string("Authorization: Bearer ") + kToken; }

// The Grand Bend configuration with a service section on a free port and a push token.
std::string WriteServiceConfig(const TempDir& dir, const std::string& extra_sources = "",
                               const std::string& extra_top_level = "") {
  WriteText(dir.File("push-token"), std::string(kToken) + "\n");
  std::string path = testing::WriteGrandBendConfig(dir, extra_sources);
  std::string text = ReadText(path);
  // One scheduled slot a day, at local midnight, so no scheduled cycle starts during a
  // test; the tests use the cycle every start runs.
  text += "service:\n  port: 0\n  port_file: " + dir.File("port") + "\n  push:\n    token_file: " +
          dir.File("push-token") +
          "\n  schedule:\n    interval_minutes: 1440\n    school_day_start: \"00:00\"\n"
          "    school_day_end: \"00:01\"\n    nightly_reconciliation: \"00:00\"\n" + extra_top_level;
  WriteText(path, text);
  return path;
}

// The tiersync service as a child process, logging to a file.
class ServiceProcess {
 public:
  // `watchdog_usec` sets WATCHDOG_USEC as systemd does for WatchdogSec=; 0 leaves it unset.
  ServiceProcess(const TempDir& dir, const std::string& config_path, const std::string& notify_socket,
                 int watchdog_usec = 0)
      : log_path_(dir.File("service.log")), port_path_(dir.File("port")) {
    pid_ = fork();
    if (pid_ == 0) {
      setenv("NOTIFY_SOCKET", notify_socket.c_str(), 1);
      if (watchdog_usec > 0) setenv("WATCHDOG_USEC", std::to_string(watchdog_usec).c_str(), 1);
      int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
      std::string binary = TiersyncBinary();
      execl(binary.c_str(), binary.c_str(), "run", "--config", config_path.c_str(), "--as-of", kAsOf,
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  ~ServiceProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  int port() {
    if (port_ == 0) {
      WaitFor([&] { return !ReadText(port_path_).empty(); });
      port_ = std::stoi(ReadText(port_path_));
    }
    return port_;
  }

  void Signal(int signal_number) { kill(pid_, signal_number); }

  // Waits for the process to exit; returns its exit status, or -1 for a timeout or a crash.
  int WaitForExit() {
    int status = 0;
    bool done = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; });
    if (!done) return -1;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Log() const { return ReadText(log_path_); }

  bool WaitForLog(const std::string& text) {
    return WaitFor([&] { return Log().find(text) != std::string::npos; });
  }

 private:
  std::string log_path_;
  std::string port_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

int64_t QueryInt(Store& store, const std::string& sql) {
  auto statement = store.db().Prepare(sql);
  if (!statement.Step()) return -1;
  return statement.Int(0);
}

std::string QueryText(Store& store, const std::string& sql) {
  auto statement = store.db().Prepare(sql);
  if (!statement.Step()) return "";
  return statement.Text(0);
}

TEST(Service, EndpointsPushAndCleanStop) {
  TempDir dir;
  NotifySocket notify(dir.File("notify.sock"));
  std::string config = WriteServiceConfig(dir);
  ServiceProcess service(dir, config, notify.path());
  ASSERT_GE(notify.WaitForMessage("READY=1"), 0) << service.Log();
  int port = service.port();
  ASSERT_TRUE(service.WaitForLog("cycle 1 succeeded")) << service.Log();

  HttpReply health = Http(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");

  HttpReply ready = Http(port, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "{\"ready\":true,\"store\":\"open\",\"last_cycle\":\"succeeded\",\"stopping\":false}\n");

  HttpReply metrics = Http(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers.find("text/plain; version=0.0.4"), std::string::npos);
  for (const char* line : {"tiersync_cycles_total{kind=\"incremental\",outcome=\"succeeded\"} 1\n",
                           "tiersync_records_read_total 2723\n", "tiersync_records_changed_total 2723\n",
                           "tiersync_tier_changes_total 858\n", "tiersync_actions_queued_total 325\n",
                           "tiersync_students{tier=\"1\"} 131\n", "tiersync_students{tier=\"2\"} 52\n",
                           "tiersync_students{tier=\"3\"} 44\n", "tiersync_outbox_entries{status=\"delivered\"} 325\n",
                           "tiersync_outbox_entries{status=\"pending\"} 0\n",
                           "tiersync_outbox_entries{status=\"dead\"} 0\n", "tiersync_delivery_retries_total 0\n",
                           "tiersync_dead_letters_total 0\n", "tiersync_cycle_duration_seconds_count 1\n",
                           "tiersync_store_open 1\n"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << "missing metric line: " << line;
  }

  HttpReply status = Http(port, "GET", "/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"district\":\"Grand Bend ISD\""), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"state\":\"idle\""), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"students_per_tier\":{\"1\":131,\"2\":52,\"3\":44}"), std::string::npos)
      << status.body;
  EXPECT_NE(status.body.find("\"outbox\":{\"pending\":0,\"delivered\":325,\"dead\":0,\"discarded\":0}"),
            std::string::npos)
      << status.body;
  EXPECT_NE(status.body.find("\"next_cycle\":{\"at\":"), std::string::npos) << status.body;

  EXPECT_EQ(Http(port, "GET", "/nowhere").status, 404);
  EXPECT_EQ(Http(port, "POST", "/healthz").status, 405);

  // A CSV batch with two good records and one bad one.
  std::string csv =
      "student_id,date,code,school_id\n"
      "900001,2022-05-02,Unexcused Absence,255901001\n"
      "900001,2022-13-02,Unexcused Absence,255901001\n"
      "900002,2022-05-03,Excused Absence,255901001\n";
  HttpReply unauthorized = Http(port, "POST", "/v1/attendance", csv, {"Content-Type: text/csv"});
  EXPECT_EQ(unauthorized.status, 401);
  HttpReply wrong_token = Http(port, "POST", "/v1/attendance", csv,
                               {"Content-Type: text/csv", "Authorization: Bearer not-the-token-at-all"});
  EXPECT_EQ(wrong_token.status, 401);

  HttpReply pushed = Http(port, "POST", "/v1/attendance", csv,
                          {"Content-Type: text/csv", AuthHeader(), "X-Batch-Id: etl-2022-05-03"});
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  EXPECT_EQ(pushed.body,
            "{\"batch_id\":\"etl-2022-05-03\",\"origin\":\"push:etl-2022-05-03\",\"records\":3,\"stored\":2,"
            "\"rejected\":1,\"unchanged\":false,\"inserted\":2,\"updated\":0,\"deleted\":0,\"results\":["
            "{\"record\":1,\"location\":\"line 2\",\"status\":\"stored\"},"
            "{\"record\":2,\"location\":\"line 3\",\"status\":\"rejected\","
            "\"reason\":\"date '2022-13-02' is not a valid date (expected YYYY-MM-DD)\"},"
            "{\"record\":3,\"location\":\"line 4\",\"status\":\"stored\"}]}\n");

  // The same batch again changes nothing.
  HttpReply again = Http(port, "POST", "/v1/attendance", csv,
                         {"Content-Type: text/csv", AuthHeader(), "X-Batch-Id: etl-2022-05-03"});
  ASSERT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("\"unchanged\":true"), std::string::npos) << again.body;

  // A JSON batch: one good record, an unknown code, an unknown field, a duplicate.
  std::string json = R"({"records": [
    {"student_id": "900003", "date": "2022-05-04", "code": "Partial", "duration": 0.5},
    {"student_id": "900003", "date": "2022-05-05", "code": "Field Trip"},
    {"student_id": "900003", "date": "2022-05-06", "code": "Tardy", "name": "x"},
    {"student_id": "900003", "date": "2022-05-04", "code": "Partial", "duration": 0.5}
  ]})";
  HttpReply pushed_json = Http(port, "POST", "/v1/attendance", json,
                               {"Content-Type: application/json", AuthHeader(), "X-Batch-Id: etl-json-1"});
  ASSERT_EQ(pushed_json.status, 200) << pushed_json.body;
  EXPECT_NE(pushed_json.body.find("\"records\":4,\"stored\":1,\"rejected\":3"), std::string::npos)
      << pushed_json.body;
  EXPECT_NE(pushed_json.body.find("code 'Field Trip' is not in rules.attendance_codes"), std::string::npos);
  EXPECT_NE(pushed_json.body.find("unknown field 'name'"), std::string::npos);
  EXPECT_NE(pushed_json.body.find("same student, date, school, period and code as record 1"), std::string::npos);

  EXPECT_EQ(Http(port, "POST", "/v1/attendance", "x", {"Content-Type: text/plain", AuthHeader()}).status, 415);
  EXPECT_EQ(Http(port, "POST", "/v1/attendance", "{", {"Content-Type: application/json", AuthHeader()}).status, 400);

  // Counted per batch received: the repeated CSV batch counts again.
  HttpReply after_push = Http(port, "GET", "/metrics");
  EXPECT_NE(after_push.body.find("tiersync_push_records_total{result=\"stored\"} 5\n"), std::string::npos);
  EXPECT_NE(after_push.body.find("tiersync_push_records_total{result=\"rejected\"} 5\n"), std::string::npos);

  service.Signal(SIGTERM);
  EXPECT_EQ(service.WaitForExit(), 0) << service.Log();
  EXPECT_GE(notify.WaitForMessage("STOPPING=1"), 0);

  // Good records stored, bad ones kept as rejected records: nothing lost.
  auto store = Store::Open(dir.File("tiersync.db"), Store::Mode::kReadOnly);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM attendance_event e JOIN origin o ON o.id = e.origin_id "
                             "WHERE o.name = 'push:etl-2022-05-03'"), 2);
  EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM rejected_record WHERE origin = 'push:etl-2022-05-03'"), 1);
  EXPECT_EQ(QueryText(**store, "SELECT raw FROM rejected_record WHERE origin = 'push:etl-2022-05-03'"),
            "900001,2022-13-02,Unexcused Absence,255901001");
  EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM attendance_event e JOIN origin o ON o.id = e.origin_id "
                             "WHERE o.name = 'push:etl-json-1'"), 1);
  EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM rejected_record WHERE origin = 'push:etl-json-1'"), 3);
  EXPECT_EQ(QueryText(**store, "PRAGMA integrity_check"), "ok");
}

TEST(Service, SighupKeepsOldConfigWhenInvalid) {
  TempDir dir;
  NotifySocket notify(dir.File("notify.sock"));
  std::string config = WriteServiceConfig(dir);
  std::string valid = ReadText(config);
  ServiceProcess service(dir, config, notify.path(), 200000);
  int ready = notify.WaitForMessage("READY=1");
  ASSERT_GE(ready, 0) << service.Log();
  int port = service.port();

  // The main loop pings the watchdog every 100 ms (half of WATCHDOG_USEC).
  int first_ping = notify.WaitForMessage("WATCHDOG=1");
  ASSERT_GE(first_ping, 0);
  EXPECT_GE(notify.WaitForMessage("WATCHDOG=1", static_cast<size_t>(first_ping) + 1), 0);

  // An invalid configuration: a misspelt key.
  WriteText(config, valid + "  unknown_key: 1\n");
  service.Signal(SIGHUP);
  int reloading = notify.WaitForMessage("RELOADING=1", static_cast<size_t>(ready) + 1);
  ASSERT_GE(reloading, 0) << service.Log();
  EXPECT_TRUE(std::regex_search(notify.messages()[reloading], std::regex("MONOTONIC_USEC=[0-9]+")));
  int ready_after_rejected = notify.WaitForMessage("READY=1", static_cast<size_t>(reloading) + 1);
  ASSERT_GE(ready_after_rejected, 0);
  ASSERT_TRUE(service.WaitForLog("configuration reload rejected")) << service.Log();
  EXPECT_NE(service.Log().find("service.unknown_key: unknown key"), std::string::npos) << service.Log();
  EXPECT_EQ(Http(port, "GET", "/healthz").status, 200);
  EXPECT_NE(Http(port, "GET", "/metrics").body.find("tiersync_config_reloads_total{outcome=\"rejected\"} 1\n"),
            std::string::npos);

  // A valid one with a different schedule.
  WriteText(config, std::regex_replace(valid, std::regex("interval_minutes: 1440"), "interval_minutes: 1430"));
  service.Signal(SIGHUP);
  int second_reloading = notify.WaitForMessage("RELOADING=1", static_cast<size_t>(ready_after_rejected) + 1);
  ASSERT_GE(second_reloading, 0);
  ASSERT_GE(notify.WaitForMessage("READY=1", static_cast<size_t>(second_reloading) + 1), 0);
  ASSERT_TRUE(service.WaitForLog("configuration reloaded")) << service.Log();
  EXPECT_NE(Http(port, "GET", "/metrics").body.find("tiersync_config_reloads_total{outcome=\"applied\"} 1\n"),
            std::string::npos);

  service.Signal(SIGTERM);
  EXPECT_EQ(service.WaitForExit(), 0) << service.Log();
}

// Attendance for students the roster lacks, so the cycle has much to read but no tier moves.
std::string WriteLargeAttendance(const TempDir& dir, int rows) {
  std::ostringstream csv;
  csv << "student_id,date,code,school_id\n";
  for (int i = 0; i < rows; ++i) {
    csv << "X" << (i / 100) << ",2022-0" << (1 + i % 5) << "-1" << (i % 10) << ",Unexcused Absence,"
        << (i % 100) << "\n";
  }
  std::string path = dir.File("large-attendance.csv");
  WriteText(path, csv.str());
  return path;
}

TEST(Service, SigtermDuringCycleExitsCleanly) {
  TempDir dir;
  NotifySocket notify(dir.File("notify.sock"));
  std::string large = WriteLargeAttendance(dir, 300000);
  std::string config = WriteServiceConfig(dir,
                                          "  - name: large\n    type: csv\n    kind: attendance\n    paths: [" +
                                              large + "]\n");
  ServiceProcess service(dir, config, notify.path());
  ASSERT_TRUE(service.WaitForLog("cycle 1 started")) << service.Log();
  service.Signal(SIGTERM);
  EXPECT_EQ(service.WaitForExit(), 0) << service.Log();

  std::string log = service.Log();
  EXPECT_NE(log.find("SIGTERM: stopping after cycle 1 finishes its current step"), std::string::npos) << log;
  EXPECT_NE(log.find("cycle 1 abandoned before"), std::string::npos) << log;
  EXPECT_NE(log.find("tiersync stopped"), std::string::npos) << log;

  {
    auto store = Store::Open(dir.File("tiersync.db"), Store::Mode::kReadOnly);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ(QueryText(**store, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM outbox WHERE status NOT IN ('pending', 'delivered')"), 0);
  }
  auto status = RunCommand(TiersyncBinary() + " status --config " + config + " 2>&1");
  EXPECT_EQ(status.status, 0);
  EXPECT_NE(status.output.find("abandoned"), std::string::npos) << status.output;

  // The next run completes the work from where the store is; nothing is duplicated.
  auto sync = RunCommand(TiersyncBinary() + " sync --config " + config + " --as-of " + kAsOf + " 2>&1");
  ASSERT_EQ(sync.status, 0) << sync.output;
  auto store = Store::Open(dir.File("tiersync.db"), Store::Mode::kReadOnly);
  ASSERT_TRUE(store);
  EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'"), 325);
  EXPECT_EQ(QueryInt(**store, "SELECT COUNT(*) FROM attendance_event e JOIN origin o ON o.id = e.origin_id "
                             "WHERE o.name LIKE 'large:%'"), 300000);
}

TEST(Service, OutboxCommandsWhileRunning) {
  TempDir dir;
  NotifySocket notify(dir.File("notify.sock"));
  // The sink directory cannot be created under a regular file, so delivery fails. With one
  // attempt allowed the first batch of 200 becomes dead letters, and delivery stops there
  // for the cycle, leaving the other 125 entries pending.
  WriteText(dir.File("blocker"), "not a directory\n");
  std::string config = WriteServiceConfig(dir);
  std::string text = ReadText(config);
  text = std::regex_replace(text, std::regex("directory: .*/out\n"), "directory: " + dir.File("blocker/out") + "\n");
  text += "delivery:\n  max_attempts: 1\n";
  WriteText(config, text);

  ServiceProcess service(dir, config, notify.path());
  ASSERT_GE(notify.WaitForMessage("READY=1"), 0) << service.Log();
  ASSERT_TRUE(service.WaitForLog("cycle 1 succeeded")) << service.Log();
  int port = service.port();
  HttpReply before = Http(port, "GET", "/metrics");
  EXPECT_NE(before.body.find("tiersync_outbox_entries{status=\"dead\"} 200\n"), std::string::npos) << before.body;
  EXPECT_NE(before.body.find("tiersync_outbox_entries{status=\"pending\"} 125\n"), std::string::npos);
  EXPECT_NE(before.body.find("tiersync_dead_letters_total 200\n"), std::string::npos);

  std::string binary = TiersyncBinary();
  auto list = RunCommand(binary + " outbox list --config " + config + " --status dead");
  ASSERT_EQ(list.status, 0);
  EXPECT_EQ(std::count(list.output.begin(), list.output.end(), '\n'), 201);  // header and 200 entries
  EXPECT_NE(list.output.find("\n1,dead,1,"), std::string::npos) << list.output.substr(0, 400);

  auto retry = RunCommand(binary + " outbox retry --config " + config + " 1 2");
  EXPECT_EQ(retry.status, 0);
  EXPECT_NE(retry.output.find("2 dead letters made pending"), std::string::npos) << retry.output;

  auto retry_again = RunCommand(binary + " outbox retry --config " + config + " 1 2>&1");
  EXPECT_EQ(retry_again.status, 1);
  EXPECT_NE(retry_again.output.find("outbox entry 1 is not a dead letter"), std::string::npos) << retry_again.output;

  auto discard = RunCommand(binary + " outbox discard --config " + config + " --all-dead");
  EXPECT_EQ(discard.status, 0);
  EXPECT_NE(discard.output.find("198 dead letters discarded"), std::string::npos) << discard.output;

  HttpReply metrics = Http(port, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("tiersync_outbox_entries{status=\"pending\"} 127\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("tiersync_outbox_entries{status=\"discarded\"} 198\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("tiersync_outbox_entries{status=\"dead\"} 0\n"), std::string::npos);

  auto status = RunCommand(binary + " status --config " + config);
  EXPECT_EQ(status.status, 0);
  EXPECT_NE(status.output.find("outbox: pending 127, delivered 0, dead letters 0, discarded 198"), std::string::npos)
      << status.output;

  service.Signal(SIGTERM);
  EXPECT_EQ(service.WaitForExit(), 0) << service.Log();
}

TEST(Service, InvalidConfigExitsWithStatus2) {
  TempDir dir;
  std::string config = WriteServiceConfig(dir, "", "  listen_address: not-an-address\n");
  auto result = RunCommand(TiersyncBinary() + " run --config " + config + " 2>&1");
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.output.find("service.listen_address: 'not-an-address' is not an IPv4 or IPv6 address"),
            std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace tiersync
