// synergy-simulator: runs the Synergy test double on 127.0.0.1 for the offline demo.
// Stop it with Ctrl-C (SIGINT) or SIGTERM.

#include <csignal>
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "tests/simulator/simulator.h"

int main(int argc, char** argv) {
  CLI::App app{"Synergy simulator for tiersync tests and demos (127.0.0.1 only)"};
  tiersync::testing::SimulatorOptions options;
  std::string grand_bend;
  std::string password_file;
  app.add_option("--db", options.db_path, "SQLite file for the simulator's data set")->required();
  app.add_option("--port", options.port, "TCP port on 127.0.0.1 (0 picks a free one)");
  app.add_option("--cert", options.cert_file, "PEM certificate chain; serves HTTPS when given with --key");
  app.add_option("--key", options.key_file, "PEM private key of the certificate");
  app.add_option("--grand-bend", grand_bend, "Load the Grand Bend sample from this directory first");
  app.add_option("--user", options.user_id, "Synergy user id the simulator accepts");
  app.add_option("--password-file", password_file, "File holding the password the simulator accepts")->required();
  double fault_rate = 0;
  app.add_option("--fault-rate", fault_rate, "Share of requests (0 to 1) that get a random fault")
      ->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(password_file);
  std::getline(in, options.password);
  if (options.password.empty()) {
    std::cerr << "synergy-simulator: " << password_file << " is missing or empty\n";
    return 2;
  }
  options.tls = !options.cert_file.empty() && !options.key_file.empty();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the server threads inherit the mask

  tiersync::testing::SynergySimulator simulator(options);
  if (!grand_bend.empty()) simulator.LoadGrandBend(grand_bend);
  if (fault_rate > 0) {
    using tiersync::testing::Fault;
    simulator.SetFaultPlan({fault_rate,
                            {Fault::kLatency, Fault::kRtError, Fault::kHttp500, Fault::kDropBeforeProcessing,
                             Fault::kDropAfterProcessing, Fault::kTruncatedBody, Fault::kStuckJob},
                            1});
  }
  simulator.Start();
  std::cout << "synergy-simulator listening on " << simulator.url() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  simulator.Stop();
  std::cout << "synergy-simulator stopped after " << simulator.requests() << " requests, "
            << simulator.Imports().size() << " imported rows" << std::endl;
  return 0;
}
