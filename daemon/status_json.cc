#include "daemon/status_json.h"

#include <boost/json.hpp>

namespace tiersync {

namespace json = boost::json;

namespace {

json::object LastCycleObject(const LastCycle& cycle) {
  json::object object;
  object["number"] = cycle.number;
  object["kind"] = CycleKindName(cycle.kind);
  object["outcome"] = CycleOutcomeName(cycle.outcome);
  object["as_of"] = cycle.as_of;
  object["started_at"] = cycle.started_at;
  object["duration_seconds"] = cycle.duration_seconds;
  object["error"] = cycle.error;
  object["abandoned_before"] = cycle.abandoned_before;
  object["records_read"] = cycle.records_read;
  object["records_changed"] = cycle.records_changed;
  object["tier_changes"] = cycle.tier_changes;
  object["actions_queued"] = cycle.actions_queued;
  object["delivered"] = cycle.delivered;
  json::object tiers;
  for (const auto& [tier, count] : cycle.students_per_tier) tiers[std::to_string(tier)] = count;
  object["students_per_tier"] = std::move(tiers);
  return object;
}

}  // namespace

std::string LastCycleJson(const LastCycle& cycle) { return json::serialize(LastCycleObject(cycle)); }

std::optional<LastCycle> ParseLastCycleJson(const std::string& text) {
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error || !value.is_object()) return std::nullopt;
  const json::object& object = value.as_object();
  try {
    LastCycle cycle;
    cycle.number = object.at("number").to_number<int64_t>();
    cycle.kind = object.at("kind").as_string() == "full" ? CycleKind::kFull : CycleKind::kIncremental;
    std::string outcome(object.at("outcome").as_string());
    cycle.outcome = outcome == "succeeded" ? CycleOutcome::kSucceeded
                    : outcome == "failed"  ? CycleOutcome::kFailed
                                           : CycleOutcome::kAbandoned;
    cycle.as_of = object.at("as_of").as_string();
    cycle.started_at = object.at("started_at").as_string();
    cycle.duration_seconds = object.at("duration_seconds").to_number<double>();
    cycle.error = object.at("error").as_string();
    cycle.abandoned_before = object.at("abandoned_before").as_string();
    cycle.records_read = object.at("records_read").to_number<size_t>();
    cycle.records_changed = object.at("records_changed").to_number<size_t>();
    cycle.tier_changes = object.at("tier_changes").to_number<size_t>();
    cycle.actions_queued = object.at("actions_queued").to_number<size_t>();
    cycle.delivered = object.at("delivered").to_number<size_t>();
    for (const auto& [tier, count] : object.at("students_per_tier").as_object()) {
      cycle.students_per_tier[std::stoi(std::string(tier))] = count.to_number<size_t>();
    }
    return cycle;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string ServiceStatusJson(const ServiceStatus& status) {
  json::object object;
  object["district"] = status.district;
  object["config_path"] = status.config_path;
  object["started_at"] = status.started_at;
  object["state"] = status.state;
  if (status.last_cycle.number > 0) {
    object["last_cycle"] = LastCycleObject(status.last_cycle);
  } else {
    object["last_cycle"] = nullptr;
  }
  if (status.next_cycle_at) {
    object["next_cycle"] = json::object{{"at", *status.next_cycle_at}, {"kind", status.next_cycle_kind}};
  } else {
    object["next_cycle"] = nullptr;
  }
  json::object outbox;
  for (const char* name : {"pending", "delivered", "dead", "discarded"}) {
    auto found = status.outbox.find(name);
    outbox[name] = found == status.outbox.end() ? 0 : found->second;
  }
  object["outbox"] = std::move(outbox);
  object["push_enabled"] = status.push_enabled;
  return json::serialize(object) + "\n";
}

}  // namespace tiersync
