#include "connectors/file/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <pugixml.hpp>
#include <sstream>

namespace tiersync {

namespace {

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// Writes `contents` to `path` through a temporary file, fsync and rename, so a reader never
// sees half a file.
Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Error{"cannot create " + temporary + ": " + std::strerror(errno)};
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string message = "cannot write " + temporary + ": " + std::strerror(errno);
      ::close(fd);
      return Error{message};
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Error{"cannot flush " + temporary + ": " + std::strerror(errno)};
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Error{"cannot rename " + temporary + " to " + path + ": " + std::strerror(errno)};
  }
  return {};
}

}  // namespace

FileSink::FileSink(FileSinkConfig config) : config_(std::move(config)) {}

Result<DeliveryReceipt> FileSink::Deliver(const std::vector<OutboxEntry>& batch) {
  if (batch.empty()) return DeliveryReceipt{};
  std::error_code error;
  std::filesystem::create_directories(config_.directory, error);
  if (error) {
    return Error{"cannot create output directory " + config_.directory + ": " + error.message() +
                 "; check sink.directory and its permissions"};
  }

  std::string stem = config_.directory + "/tiersync-actions-" + std::to_string(batch.front().id) + "-" +
                     std::to_string(batch.back().id);

  if (config_.write_csv) {
    std::ostringstream csv;
    const auto& fields = ImportFields();
    for (size_t i = 0; i < fields.size(); ++i) csv << (i ? "," : "") << fields[i];
    csv << "\n";
    for (const auto& entry : batch) {
      auto values = EntryFields(entry);
      for (size_t i = 0; i < fields.size(); ++i) csv << (i ? "," : "") << CsvField(values[fields[i]]);
      csv << "\n";
    }
    if (auto status = WriteFileAtomically(stem + ".csv", csv.str()); !status) return status.error();
  }

  if (config_.write_xml) {
    pugi::xml_document document;
    pugi::xml_node root = document.append_child("ROOT");
    for (const auto& entry : batch) {
      auto values = EntryFields(entry);
      pugi::xml_node row = root.append_child(config_.xml_template.element.c_str());
      for (const auto& [attribute, pattern] : config_.xml_template.attributes) {
        row.append_attribute(attribute.c_str()) = RenderPattern(pattern, values).c_str();
      }
    }
    std::ostringstream xml;
    document.save(xml, "  ", pugi::format_default, pugi::encoding_utf8);
    if (auto status = WriteFileAtomically(stem + ".xml", xml.str()); !status) return status.error();
  }

  return DeliveryReceipt{std::filesystem::path(stem).filename().string()};
}

}  // namespace tiersync
