#pragma once

// Writes each batch of outbox entries to a directory as two files Synergy can import: a
// CSV file and an ImportData <ROOT> XML document. Names come from the batch's outbox ids
// (tiersync-actions-<first>-<last>), so delivering a batch again after a crash rewrites
// the same files instead of adding new ones.

#include <string>

#include "connectors/import_template.h"
#include "connectors/sink.h"

namespace tiersync {

struct FileSinkConfig {
  std::string directory;
  bool write_csv = true;
  bool write_xml = true;
  ImportTemplate xml_template = ImportTemplate::Default();
};

class FileSink : public Sink {
 public:
  explicit FileSink(FileSinkConfig config);
  const std::string& name() const override { return name_; }
  Result<DeliveryReceipt> Deliver(const std::vector<OutboxEntry>& batch) override;

 private:
  FileSinkConfig config_;
  std::string name_ = "file";
};

}  // namespace tiersync
