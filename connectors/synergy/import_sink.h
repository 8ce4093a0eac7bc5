#pragma once

// Delivers outbox entries to Synergy through K12.IntegrationInfo.SISDataImport/ImportData:
// one <ROOT> document per batch, one element per entry, shaped by the YAML template for the
// entry's kind (task, contact, notice). Every template carries the idempotency key.
//
// ImportData has no idempotency of its own, so a request whose effect is unknown (a timeout
// or broken connection after sending, a 5xx, a cut-short response) is never simply sent
// again. The sink first runs the configured key-check report, drops the entries whose keys
// Synergy already has, and sends only the rest. Entries that failed in an earlier cycle are
// checked the same way before they are sent, and so is every batch when
// check_before_every_send is on.

#include <map>
#include <string>
#include <vector>

#include "connectors/import_template.h"
#include "connectors/sink.h"
#include "connectors/synergy/synergy_client.h"

namespace tiersync {

// A report that lists the idempotency keys already imported.
struct KeyCheckConfig {
  std::string report_id;
  synergy::ReportFormat format = synergy::ReportFormat::kCsv;
  std::string key_column = "IDEMPOTENCY_KEY";
  // OPTION PROPERTY -> value; {keys} becomes the comma-separated keys being checked.
  std::vector<std::pair<std::string, std::string>> options;
};

struct SynergySinkConfig {
  std::map<ActionKind, ImportTemplate> templates;  // one per kind
  KeyCheckConfig key_check;
  int max_uncertain_rounds = 4;  // check-and-resend rounds within one delivery
  // Run the key check before every send, not only after a failure. This also covers a crash
  // between a successful ImportData and the outbox recording it, at the cost of one report
  // job per batch.
  bool check_before_every_send = true;
};

// Checks that a template renders {idempotency_key} into some attribute.
Status ValidateKeyedTemplate(const ImportTemplate& import_template);

class SynergyImportSink : public Sink {
 public:
  SynergyImportSink(SynergySinkConfig config, synergy::SynergyClient& client);
  const std::string& name() const override { return name_; }
  Result<DeliveryReceipt> Deliver(const std::vector<OutboxEntry>& batch) override;

  // The ImportData <ROOT> document for `entries`, attribute values XML-escaped.
  std::string BuildImportDocument(const std::vector<OutboxEntry>& entries) const;

 private:
  Result<std::vector<std::string>> ExistingKeys(const std::vector<OutboxEntry>& entries);

  SynergySinkConfig config_;
  synergy::SynergyClient& client_;
  std::string name_ = "synergy";
};

}  // namespace tiersync
