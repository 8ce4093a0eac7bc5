// `tiersync sync` against a Synergy server it must not or cannot use: a wrong password, a
// certificate for another host name, nothing listening. Each ends the cycle with one error
// line and exit status 1, and a later sync with the problem fixed delivers everything once.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <sstream>

#include "config/config.h"
#include "store/store.h"
#include "tests/integration/synergy_fixture.h"

namespace tiersync::testing {
namespace {

struct SyncRun {
  int status = -1;
  std::vector<std::string> error_lines;  // log lines at level error
  std::string log;
};

SyncRun RunSync(const TempDir& dir, const std::string& config_path) {
  std::string log_path = dir.File("sync.log");
  CommandResult result = RunCommand(TiersyncBinary() + " sync --config " + config_path +
                                    " --as-of 2022-05-27 > " + dir.File("sync.out") + " 2> " + log_path);
  SyncRun run;
  run.status = result.status;
  run.log = ReadText(log_path);
  std::istringstream lines(run.log);
  std::string line;
  while (std::getline(lines, line)) {
    // "<timestamp> error <message>"
    auto space = line.find(' ');
    if (space != std::string::npos && line.compare(space + 1, 6, "error ") == 0) run.error_lines.push_back(line);
  }
  return run;
}

// A TCP port on 127.0.0.1 that nothing listens on: bound once to learn a free number, then closed.
uint16_t ClosedPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

std::unique_ptr<Store> OpenStore(const TempDir& dir, const std::string& name) {
  auto store = Store::Open(dir.File(name));
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

// Runs a sync whose tasks go to Synergy through `broken` and expects it to stop with one
// error line naming `expected_message`, keeping every task pending. Then syncs through
// `working` and expects each task imported exactly once into `simulator`.
void ExpectStopThenRecovery(const TempDir& dir, SynergyConfigSetup broken, SynergyConfigSetup working,
                            SynergySimulator& simulator, const std::string& expected_message) {
  broken.synergy_source = false;
  broken.store_name = "sink.db";
  SyncRun failed = RunSync(dir, WriteSynergyConfig(dir, broken));
  EXPECT_EQ(failed.status, 1) << failed.log;
  ASSERT_EQ(failed.error_lines.size(), 1u) << failed.log;
  EXPECT_NE(failed.error_lines[0].find(expected_message), std::string::npos) << failed.error_lines[0];
  EXPECT_EQ(failed.log.find(kSimulatorPassword), std::string::npos) << "the log shows the password";

  size_t queued = 0;
  {
    auto store = OpenStore(dir, "sink.db");
    auto pending = store->ListOutbox("pending", 100000);
    queued = pending.size();
    EXPECT_EQ(queued, 314u);
    for (const auto& entry : pending) EXPECT_EQ(entry.attempts, 0) << entry.action.idempotency_key;
    EXPECT_EQ(store->OutboxCounts()["dead"], 0);
  }
  EXPECT_TRUE(simulator.Imports().empty());

  working.synergy_source = false;
  working.store_name = "sink.db";
  SyncRun recovered = RunSync(dir, WriteSynergyConfig(dir, working));
  EXPECT_EQ(recovered.status, 0) << recovered.log;
  EXPECT_TRUE(recovered.error_lines.empty()) << recovered.log;
  std::map<std::string, int> keys;
  for (const auto& record : simulator.Imports()) ++keys[record.key];
  EXPECT_EQ(keys.size(), queued);
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << key;
}

// A sync that reads from Synergy through `broken` stops before applying anything.
void ExpectSourceStops(const TempDir& dir, SynergyConfigSetup broken, const std::string& expected_message) {
  broken.store_name = "source.db";
  SyncRun failed = RunSync(dir, WriteSynergyConfig(dir, broken));
  EXPECT_EQ(failed.status, 1) << failed.log;
  ASSERT_EQ(failed.error_lines.size(), 1u) << failed.log;
  EXPECT_NE(failed.error_lines[0].find(expected_message), std::string::npos) << failed.error_lines[0];
  auto store = OpenStore(dir, "source.db");
  EXPECT_FALSE(store->Cursor("synergy:calendar").has_value());
  EXPECT_TRUE(store->ListOutbox("", 10).empty());
}

TEST(SynergyFailure, WrongPasswordStopsCycle) {
  TempDir dir;
  auto simulator = StartSimulator(dir);
  SynergyConfigSetup broken{simulator->url()};
  broken.password = "not-the-password";
  ExpectSourceStops(dir, broken, "Invalid user id or password");
  ExpectStopThenRecovery(dir, broken, {simulator->url()}, *simulator, "Invalid user id or password");
}

TEST(SynergyFailure, WrongCertificateHostStopsCycle) {
  TempDir dir;
  TempDir other_dir;
  auto impostor = StartSimulator(other_dir, {.certificate = "wrong-host"});
  auto simulator = StartSimulator(dir);
  SynergyConfigSetup broken{impostor->url()};
  ExpectSourceStops(dir, broken, "certificate was issued for another host name");
  ExpectStopThenRecovery(dir, broken, {simulator->url()}, *simulator, "certificate was issued for another host name");
  EXPECT_TRUE(impostor->Imports().empty());
  EXPECT_EQ(impostor->requests(), 0);
}

TEST(SynergyFailure, UnreachableServerStopsCycle) {
  TempDir dir;
  auto simulator = StartSimulator(dir);
  SynergyConfigSetup broken{"https://127.0.0.1:" + std::to_string(ClosedPort())};
  broken.max_attempts = 2;
  ExpectSourceStops(dir, broken, "cannot connect");
  ExpectStopThenRecovery(dir, broken, {simulator->url()}, *simulator, "cannot connect");
}

TEST(SynergyFailure, InsecureModeWarnsAndConnects) {
  TempDir dir;
  auto impostor = StartSimulator(dir, {.certificate = "wrong-host"});
  SynergyConfigSetup setup{impostor->url()};
  setup.synergy_source = false;
  setup.insecure_skip_verify = true;
  SyncRun run = RunSync(dir, WriteSynergyConfig(dir, setup));
  EXPECT_EQ(run.status, 0) << run.log;
  EXPECT_TRUE(run.error_lines.empty()) << run.log;
  EXPECT_NE(run.log.find("TLS certificate verification is OFF for " + impostor->url()), std::string::npos) << run.log;
  EXPECT_EQ(impostor->Imports().size(), 314u);
}

}  // namespace
}  // namespace tiersync::testing
