#include "daemon/metrics.h"

#include <ctime>
#include <sstream>

namespace tiersync {

const char* CycleOutcomeName(CycleOutcome outcome) {
  switch (outcome) {
    case CycleOutcome::kSucceeded:
      return "succeeded";
    case CycleOutcome::kFailed:
      return "failed";
    case CycleOutcome::kAbandoned:
      break;
  }
  return "abandoned";
}

void Metrics::RecordCycle(const LastCycle& cycle, const CycleSummary* summary) {
  std::lock_guard lock(mutex_);
  last_cycle_ = cycle;
  ++cycles_[{CycleKindName(cycle.kind), CycleOutcomeName(cycle.outcome)}];
  duration_sum_ += cycle.duration_seconds;
  ++duration_count_;
  if (cycle.outcome == CycleOutcome::kSucceeded) last_success_unix_ = static_cast<int64_t>(std::time(nullptr));
  if (summary == nullptr) return;
  records_read_ += static_cast<int64_t>(summary->RecordsRead());
  records_changed_ += static_cast<int64_t>(summary->RecordsChanged());
  for (const auto& origin : summary->origins) records_rejected_ += static_cast<int64_t>(origin.stats.rejected);
  tier_changes_ += static_cast<int64_t>(summary->engine.tier_changes);
  actions_queued_ += static_cast<int64_t>(summary->engine.actions_created);
  delivered_ += static_cast<int64_t>(summary->delivery.delivered);
  delivery_retries_ += static_cast<int64_t>(summary->delivery.failed);
  dead_lettered_ += static_cast<int64_t>(summary->delivery.dead_lettered);
}

void Metrics::RecordOverrun() {
  std::lock_guard lock(mutex_);
  ++overruns_;
}

void Metrics::RecordPush(bool accepted, size_t stored, size_t rejected) {
  std::lock_guard lock(mutex_);
  ++push_batches_[accepted ? "accepted" : "refused"];
  push_records_stored_ += static_cast<int64_t>(stored);
  push_records_rejected_ += static_cast<int64_t>(rejected);
}

void Metrics::RecordReload(bool applied) {
  std::lock_guard lock(mutex_);
  ++reloads_[applied ? "applied" : "rejected"];
}

LastCycle Metrics::last_cycle() const {
  std::lock_guard lock(mutex_);
  return last_cycle_;
}

bool Metrics::cycle_running() const {
  std::lock_guard lock(mutex_);
  return cycle_running_;
}

void Metrics::set_cycle_running(bool running) {
  std::lock_guard lock(mutex_);
  cycle_running_ = running;
}

namespace {

void Header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

std::string Metrics::RenderPrometheus(const std::map<std::string, int64_t>& outbox, bool store_open) const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;

  Header(out, "tiersync_cycles_total", "counter", "Cycles finished since the service started, by kind and outcome.");
  for (const char* kind : {"incremental", "full"}) {
    for (const char* outcome : {"succeeded", "failed", "abandoned"}) {
      auto found = cycles_.find({kind, outcome});
      out << "tiersync_cycles_total{kind=\"" << kind << "\",outcome=\"" << outcome << "\"} "
          << (found == cycles_.end() ? 0 : found->second) << "\n";
    }
  }
  Header(out, "tiersync_cycle_overruns_total", "counter",
         "Scheduled cycle starts that found the previous cycle still running.");
  out << "tiersync_cycle_overruns_total " << overruns_ << "\n";
  Header(out, "tiersync_cycle_running", "gauge", "1 while a cycle runs.");
  out << "tiersync_cycle_running " << (cycle_running_ ? 1 : 0) << "\n";
  Header(out, "tiersync_cycle_duration_seconds", "summary", "Wall-clock duration of finished cycles.");
  out << "tiersync_cycle_duration_seconds_sum " << duration_sum_ << "\n";
  out << "tiersync_cycle_duration_seconds_count " << duration_count_ << "\n";
  Header(out, "tiersync_last_cycle_duration_seconds", "gauge", "Duration of the last finished cycle.");
  out << "tiersync_last_cycle_duration_seconds " << last_cycle_.duration_seconds << "\n";
  Header(out, "tiersync_last_success_timestamp_seconds", "gauge",
         "Unix time when the last cycle succeeded; 0 when none has since the start.");
  out << "tiersync_last_success_timestamp_seconds " << last_success_unix_ << "\n";

  Header(out, "tiersync_records_read_total", "counter", "Records read from sources by cycles.");
  out << "tiersync_records_read_total " << records_read_ << "\n";
  Header(out, "tiersync_records_changed_total", "counter", "Records inserted, updated or deleted in the store by cycles.");
  out << "tiersync_records_changed_total " << records_changed_ << "\n";
  Header(out, "tiersync_records_rejected_total", "counter", "Records cycles could not read and kept aside.");
  out << "tiersync_records_rejected_total " << records_rejected_ << "\n";
  Header(out, "tiersync_tier_changes_total", "counter", "Tier changes recorded by cycles.");
  out << "tiersync_tier_changes_total " << tier_changes_ << "\n";
  Header(out, "tiersync_actions_queued_total", "counter", "Playbook actions queued in the outbox by cycles.");
  out << "tiersync_actions_queued_total " << actions_queued_ << "\n";

  Header(out, "tiersync_students", "gauge", "Students of the school year per tier at the last cycle's as-of date.");
  for (const auto& [tier, count] : last_cycle_.students_per_tier) {
    out << "tiersync_students{tier=\"" << tier << "\"} " << count << "\n";
  }

  Header(out, "tiersync_outbox_entries", "gauge", "Outbox entries by status, read from the store.");
  for (const char* status : {"pending", "delivered", "dead", "discarded"}) {
    auto found = outbox.find(status);
    out << "tiersync_outbox_entries{status=\"" << status << "\"} " << (found == outbox.end() ? 0 : found->second)
        << "\n";
  }
  Header(out, "tiersync_outbox_delivered_total", "counter", "Outbox entries delivered by cycles.");
  out << "tiersync_outbox_delivered_total " << delivered_ << "\n";
  Header(out, "tiersync_delivery_retries_total", "counter", "Outbox entries whose delivery failed and will be retried.");
  out << "tiersync_delivery_retries_total " << delivery_retries_ << "\n";
  Header(out, "tiersync_dead_letters_total", "counter", "Outbox entries moved to the dead-letter state by cycles.");
  out << "tiersync_dead_letters_total " << dead_lettered_ << "\n";

  Header(out, "tiersync_push_batches_total", "counter", "Batches received on POST /v1/attendance, by outcome.");
  for (const char* outcome : {"accepted", "refused"}) {
    auto found = push_batches_.find(outcome);
    out << "tiersync_push_batches_total{outcome=\"" << outcome << "\"} "
        << (found == push_batches_.end() ? 0 : found->second) << "\n";
  }
  Header(out, "tiersync_push_records_total", "counter", "Pushed records, by result.");
  out << "tiersync_push_records_total{result=\"stored\"} " << push_records_stored_ << "\n";
  out << "tiersync_push_records_total{result=\"rejected\"} " << push_records_rejected_ << "\n";

  Header(out, "tiersync_config_reloads_total", "counter", "Configuration reloads on SIGHUP, by outcome.");
  for (const char* outcome : {"applied", "rejected"}) {
    auto found = reloads_.find(outcome);
    out << "tiersync_config_reloads_total{outcome=\"" << outcome << "\"} "
        << (found == reloads_.end() ? 0 : found->second) << "\n";
  }
  Header(out, "tiersync_store_open", "gauge", "1 when the store answered the scrape's query.");
  out << "tiersync_store_open " << (store_open ? 1 : 0) << "\n";
  return out.str();
}

}  // namespace tiersync
