// tiersync: attendance tiers for districts running Synergy. See README.md.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "daemon/commands.h"
#include "daemon/operator_commands.h"
#include "daemon/service.h"

int main(int argc, char** argv) {
  CLI::App app{"tiersync: recompute attendance tiers and deliver outreach tasks to Synergy"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log detail: trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  std::string config_path;
  std::string as_of;
  std::string format = "csv";
  std::string student_id;

  auto* sync = app.add_subcommand("sync", "Run one cycle: read sources, recompute tiers, deliver the outbox");
  sync->add_option("--config", config_path, "Configuration file (YAML)")->required();
  auto* sync_as_of = sync->add_option("--as-of", as_of, "Evaluate tiers at the end of this date (YYYY-MM-DD); default today in the district time zone");

  bool reconcile = false;
  sync->add_flag("--reconcile", reconcile,
                 "Nightly reconciliation: read the whole school year from Synergy report sources, and read "
                 "and hash every source file even when its size and modification time are unchanged; "
                 "only differences are applied");

  auto* tiers = app.add_subcommand("tiers", "Print every enrolled student's tier at a date from the store");
  tiers->add_option("--config", config_path, "Configuration file (YAML)")->required();
  tiers->add_option("--as-of", as_of, "Date (YYYY-MM-DD)")->required();
  tiers->add_option("--format", format, "Output format: csv or json")->check(CLI::IsMember({"csv", "json"}));

  auto* explain = app.add_subcommand("explain", "Show the days, events and rule that decided one student's tier");
  explain->add_option("--config", config_path, "Configuration file (YAML)")->required();
  explain->add_option("--student", student_id, "Student id (SIS number or Ed-Fi StudentUniqueId)")->required();
  explain->add_option("--as-of", as_of, "Date (YYYY-MM-DD)")->required();

  auto* check = app.add_subcommand("check-config", "Validate a configuration and its playbook without running");
  check->add_option("config", config_path, "Configuration file (YAML)")->required();

  auto* quality = app.add_subcommand("data-quality", "List records kept aside and why");
  quality->add_option("--config", config_path, "Configuration file (YAML)")->required();
  std::string quality_format = "text";
  quality->add_option("--format", quality_format, "Output format: text or csv")->check(CLI::IsMember({"text", "csv"}));

  auto* run = app.add_subcommand("run", "Run as a service: scheduled cycles, HTTP endpoints, systemd notifications");
  run->add_option("--config", config_path, "Configuration file (YAML)")->required();
  auto* run_as_of = run->add_option(
      "--as-of", as_of, "Evaluate tiers at this fixed date (YYYY-MM-DD) instead of today, to replay a past school year");

  auto* status = app.add_subcommand("status", "Show the last cycle and the outbox from the store (safe while the service runs)");
  status->add_option("--config", config_path, "Configuration file (YAML)")->required();
  std::string status_format = "text";
  status->add_option("--format", status_format, "Output format: text or json")->check(CLI::IsMember({"text", "json"}));

  auto* outbox = app.add_subcommand("outbox", "List, retry or discard outbox entries (safe while the service runs)");
  outbox->require_subcommand(1);
  std::string outbox_status = "dead";
  size_t outbox_limit = 1000;
  std::vector<int64_t> outbox_ids;
  bool all_dead = false;
  auto* outbox_list = outbox->add_subcommand("list", "List outbox entries as CSV");
  outbox_list->add_option("--config", config_path, "Configuration file (YAML)")->required();
  outbox_list->add_option("--status", outbox_status, "Entries to list: dead, pending, delivered, discarded, held, awaiting_approval, cancelled, merged or all")
      ->check(CLI::IsMember({"dead", "pending", "delivered", "discarded", "held", "awaiting_approval",
                             "cancelled", "merged", "all"}));
  outbox_list->add_option("--limit", outbox_limit, "Most entries to list");
  auto* outbox_retry = outbox->add_subcommand("retry", "Make dead letters pending again, with their attempts reset");
  auto* outbox_discard = outbox->add_subcommand("discard", "Mark dead letters discarded so they are never delivered");
  for (auto* command : {outbox_retry, outbox_discard}) {
    command->add_option("--config", config_path, "Configuration file (YAML)")->required();
    command->add_option("ids", outbox_ids, "Outbox entry ids (see tiersync outbox list)");
    command->add_flag("--all-dead", all_dead, "Act on every dead letter");
  }

  std::string key;
  std::string on_date;
  auto* approve = app.add_subcommand("approve", "Release a notice that awaits staff approval");
  approve->add_option("--config", config_path, "Configuration file (YAML)")->required();
  approve->add_option("--key", key, "The notice's idempotency key")->required();
  approve->add_option("--on", on_date, "Approval date (YYYY-MM-DD)")->required();

  auto* complete = app.add_subcommand("complete-task", "Record that staff finished a task, so it does not escalate");
  complete->add_option("--config", config_path, "Configuration file (YAML)")->required();
  complete->add_option("--key", key, "The task's idempotency key")->required();
  complete->add_option("--on", on_date, "Completion date (YYYY-MM-DD)")->required();


  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }

  auto logger = spdlog::stderr_color_mt("tiersync");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (*sync) {
    std::optional<std::string> date;
    if (*sync_as_of) date = as_of;
    return tiersync::CommandSync(config_path, date, std::cout, reconcile);
  }
  if (*tiers) return tiersync::CommandTiers(config_path, as_of, format, std::cout);
  if (*explain) return tiersync::CommandExplain(config_path, student_id, as_of, std::cout);
  if (*check) return tiersync::CommandCheckConfig(config_path, std::cout);
  if (*run) {
    tiersync::ServiceOptions options{config_path, std::nullopt};
    if (*run_as_of) options.as_of = as_of;
    return tiersync::RunService(options);
  }
  if (*status) return tiersync::CommandStatus(config_path, status_format, std::cout);
  if (*outbox_list) return tiersync::CommandOutboxList(config_path, outbox_status, outbox_limit, std::cout);
  if (*outbox_retry) return tiersync::CommandOutboxRetry(config_path, outbox_ids, all_dead, std::cout);
  if (*outbox_discard) return tiersync::CommandOutboxDiscard(config_path, outbox_ids, all_dead, std::cout);
  if (*quality) return tiersync::CommandDataQuality(config_path, quality_format, std::cout);
  if (*approve) return tiersync::CommandApprove(config_path, key, on_date, std::cout);
  if (*complete) return tiersync::CommandCompleteTask(config_path, key, on_date, std::cout);
  return 2;
}
