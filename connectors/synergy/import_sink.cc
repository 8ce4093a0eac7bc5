#include "connectors/synergy/import_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <pugixml.hpp>
#include <set>
#include <sstream>

#include "connectors/csv/csv_reader.h"
#include "connectors/synergy/report_source.h"

namespace tiersync {

Status ValidateKeyedTemplate(const ImportTemplate& import_template) {
  for (const auto& [attribute, pattern] : import_template.attributes) {
    if (pattern.find("{idempotency_key}") != std::string::npos) return {};
  }
  return Error{"no attribute of element " + import_template.element +
               " uses {idempotency_key}; add one, e.g. IDEMPOTENCY_KEY: \"{idempotency_key}\", so repeats can be "
               "recognised"};
}

SynergyImportSink::SynergyImportSink(SynergySinkConfig config, synergy::SynergyClient& client)
    : config_(std::move(config)), client_(client) {}

std::string SynergyImportSink::BuildImportDocument(const std::vector<OutboxEntry>& entries) const {
  pugi::xml_document document;
  pugi::xml_node root = document.append_child("ROOT");
  for (const auto& entry : entries) {
    auto found = config_.templates.find(entry.action.kind);
    const ImportTemplate& import_template =
        found != config_.templates.end() ? found->second : config_.templates.begin()->second;
    auto values = EntryFields(entry);
    pugi::xml_node row = root.append_child(import_template.element.c_str());
    for (const auto& [attribute, pattern] : import_template.attributes) {
      // pugixml escapes the value (&, <, ", ...) when it writes the attribute.
      row.append_attribute(attribute.c_str()) = RenderPattern(pattern, values).c_str();
    }
  }
  std::ostringstream xml;
  document.save(xml, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return xml.str();
}

Result<std::vector<std::string>> SynergyImportSink::ExistingKeys(const std::vector<OutboxEntry>& entries) {
  std::string keys;
  for (const auto& entry : entries) keys += (keys.empty() ? "" : ",") + entry.action.idempotency_key;
  synergy::ReportRequest request;
  request.report_id = config_.key_check.report_id;
  request.format = config_.key_check.format;
  for (const auto& [property, pattern] : config_.key_check.options) {
    std::string value = pattern;
    for (size_t at = value.find("{keys}"); at != std::string::npos; at = value.find("{keys}", at + keys.size())) {
      value.replace(at, 6, keys);
    }
    request.options.push_back({property, value});
  }

  auto csv = client_.RunReport(request);
  if (!csv) return ToError(csv.error(), "sink synergy, key-check report " + request.report_id);

  CsvReader reader(*csv);
  CsvRow row;
  std::vector<std::string> found;
  if (!reader.Next(row)) return found;
  std::vector<std::string> header = UniqueHeaderNames(row.fields);
  auto column = std::find(header.begin(), header.end(), config_.key_check.key_column);
  if (column == header.end()) {
    return Error{"sink synergy, key-check report " + request.report_id + " has no column " +
                 config_.key_check.key_column + "; fix sink.key_check.key_column"};
  }
  size_t index = static_cast<size_t>(column - header.begin());
  while (reader.Next(row)) {
    if (index < row.fields.size()) found.push_back(row.fields[index]);
  }
  return found;
}

Result<DeliveryReceipt> SynergyImportSink::Deliver(const std::vector<OutboxEntry>& batch) {
  if (batch.empty()) return DeliveryReceipt{};
  std::vector<OutboxEntry> pending = batch;
  std::string range = std::to_string(batch.front().id) + ".." + std::to_string(batch.back().id);

  // An entry that failed before may have reached Synergy, so check before sending it again.
  bool check_first = config_.check_before_every_send ||
                     std::any_of(batch.begin(), batch.end(), [](const OutboxEntry& entry) { return entry.attempts > 0; });

  for (int round = 1; round <= config_.max_uncertain_rounds; ++round) {
    if (check_first) {
      auto existing = ExistingKeys(pending);
      if (!existing) return existing.error();
      std::set<std::string> present(existing->begin(), existing->end());
      size_t before = pending.size();
      pending.erase(std::remove_if(pending.begin(), pending.end(),
                                   [&](const OutboxEntry& entry) { return present.count(entry.action.idempotency_key); }),
                    pending.end());
      if (before != pending.size()) {
        spdlog::info("outbox entries {}: {} of {} are already in Synergy and are not sent again", range,
                     before - pending.size(), before);
      }
      if (pending.empty()) return DeliveryReceipt{"ImportData (found by key check)"};
    }

    auto result = client_.Call({synergy::kImportHandle, "ImportData", BuildImportDocument(pending)}, false);
    if (result) {
      pugi::xml_document answer;
      std::string import_id;
      if (answer.load_string(result->c_str())) import_id = answer.document_element().attribute("IMPORT_ID").value();
      return DeliveryReceipt{import_id.empty() ? "ImportData" : "ImportData " + import_id};
    }

    // NOTE: a request that the server has not processed yet when the key check runs can
    // still be applied after it. A duplicate is then possible, and only a server slower than
    // request_timeout_ms causes it, because ImportData offers no idempotent mode.
    const synergy::SynergyError& error = result.error();
    if (!error.maybe_processed) return ToError(error, "sink synergy, ImportData for outbox entries " + range);
    spdlog::warn("ImportData for outbox entries {} may or may not have been applied ({}); checking which keys "
                 "Synergy holds before sending again (round {} of {})",
                 range, error.message, round, config_.max_uncertain_rounds);
    check_first = true;
  }
  return Error{"sink synergy: ImportData for outbox entries " + range + " stayed uncertain after " +
               std::to_string(config_.max_uncertain_rounds) + " rounds; they stay pending and are checked by key "
               "before the next attempt"};
}

}  // namespace tiersync
