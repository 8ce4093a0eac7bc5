#include "connectors/synergy/protocol.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>

namespace tiersync::synergy {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kAuthentication:
      return "authentication failed";
    case ErrorKind::kLoginRefused:
      return "login refused";
    case ErrorKind::kRemote:
      return "RT_ERROR";
    case ErrorKind::kHttpStatus:
      return "HTTP error";
    case ErrorKind::kMalformed:
      return "malformed response";
    case ErrorKind::kJobFailed:
      return "report job failed";
    case ErrorKind::kJobTimeout:
      return "report job timed out";
    case ErrorKind::kInvalidUrl:
      return "invalid URL";
    case ErrorKind::kConnect:
      return "connect failed";
    case ErrorKind::kTlsVerify:
      return "certificate rejected";
    case ErrorKind::kTls:
      return "TLS handshake failed";
    case ErrorKind::kTimeout:
      return "timed out";
    case ErrorKind::kTransport:
      break;
  }
  return "connection failed";
}

namespace {

// A 4xx other than 408 (timeout) and 429 (too many requests) means the request itself is
// wrong (a bad URL path, a proxy that denies access), so repeating it cannot help.
bool ClientError(int status) { return status >= 400 && status < 500 && status != 408 && status != 429; }

}  // namespace

bool SynergyError::Retryable() const {
  if (kind == ErrorKind::kHttpStatus && ClientError(http_status)) return false;
  switch (kind) {
    case ErrorKind::kAuthentication:
    case ErrorKind::kTlsVerify:
    case ErrorKind::kInvalidUrl:
      return false;
    default:
      return true;
  }
}

bool SynergyError::NeedsOperator() const {
  return kind == ErrorKind::kAuthentication || kind == ErrorKind::kTlsVerify || kind == ErrorKind::kInvalidUrl ||
         kind == ErrorKind::kConnect || (kind == ErrorKind::kHttpStatus && ClientError(http_status));
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

constexpr const char* kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node ChildByLocalName(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element && LocalName(child) == name) return child;
  }
  return {};
}

pugi::xml_node DescendantByLocalName(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    if (LocalName(child) == name) return child;
    if (pugi::xml_node found = DescendantByLocalName(child, name)) return found;
  }
  return {};
}

// The concatenated text and CDATA directly inside `node`.
std::string InnerText(const pugi::xml_node& node) {
  std::string text;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) text += child.value();
  }
  return text;
}

std::string Trim(std::string text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

std::string Excerpt(std::string_view text) {
  std::string excerpt(text.substr(0, 160));
  for (char& c : excerpt) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.size() > 160 ? excerpt + "..." : excerpt;
}

SynergyError Malformed(const std::string& what, std::string_view body) {
  return SynergyError{ErrorKind::kMalformed, what + " (response starts: " + Excerpt(body) + ")", false};
}

// Parses result XML and returns its document element, or an error naming what was expected.
SynergyResult<pugi::xml_node> ParseResult(pugi::xml_document& document, std::string_view result_xml,
                                          std::string_view expected_root) {
  pugi::xml_parse_result parsed = document.load_buffer(result_xml.data(), result_xml.size());
  if (!parsed) return Malformed(std::string("result is not XML: ") + parsed.description(), result_xml);
  pugi::xml_node root = document.document_element();
  if (LocalName(root) != expected_root) {
    return Malformed("expected a <" + std::string(expected_root) + "> result but got <" + root.name() + ">",
                     result_xml);
  }
  return root;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += kBase64Alphabet[(n >> 6) & 63];
    out += kBase64Alphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kBase64Alphabet[(n >> 18) & 63];
    out += kBase64Alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64Alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') break;
    const char* position = std::strchr(kBase64Alphabet, c);
    if (position == nullptr || c == '\0') return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(position - kBase64Alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  return out;
}

http::Request BuildRequest(Protocol protocol, const Credentials& credentials, const ServiceCall& call) {
  http::Request request;
  if (protocol == Protocol::kForm) {
    request.target = std::string(kServicePath) + "/ProcessWebServiceRequest";
    request.content_type = "application/x-www-form-urlencoded";
    request.body = "userID=" + FormEncode(credentials.user_id) + "&password=" + FormEncode(credentials.password) +
                   "&skipLoginLog=1&parent=0&webServiceHandleName=" + FormEncode(call.handle) +
                   "&methodName=" + FormEncode(call.method) + "&paramStr=" + FormEncode(call.params);
    return request;
  }

  // SOAP 1.1: the child elements must come in this order.
  request.target = kServicePath;
  request.content_type = "text/xml; charset=utf-8";
  request.headers.emplace_back("SOAPAction", std::string("\"") + kNamespace + "ProcessWebServiceRequest\"");
  request.body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<soap:Body><ProcessWebServiceRequest xmlns=\"" +
      std::string(kNamespace) + "\"><userID>" + XmlEscape(credentials.user_id) + "</userID><password>" +
      XmlEscape(credentials.password) + "</password><skipLoginLog>1</skipLoginLog><parent>0</parent>" +
      "<webServiceHandleName>" + XmlEscape(call.handle) + "</webServiceHandleName><methodName>" +
      XmlEscape(call.method) + "</methodName><paramStr>" + XmlEscape(call.params) +
      "</paramStr></ProcessWebServiceRequest></soap:Body></soap:Envelope>";
  return request;
}

ErrorKind ClassifyRtError(std::string_view message) {
  std::string lower(message);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.find("invalid user") != std::string::npos || lower.find("unable to authenticate") != std::string::npos ||
      lower.find("password") != std::string::npos) {
    return ErrorKind::kAuthentication;
  }
  // NOTE: no public source quotes Synergy's wording for a rejected rapid second login. These
  // patterns match the simulator's message and are a guess at a real server's.
  if (lower.find("login refused") != std::string::npos || lower.find("too soon") != std::string::npos ||
      lower.find("session already") != std::string::npos) {
    return ErrorKind::kLoginRefused;
  }
  return ErrorKind::kRemote;
}

SynergyResult<std::string> ParseResponse(Protocol protocol, int http_status, std::string_view body) {
  if (http_status != 200 && !(protocol == Protocol::kSoap && http_status == 500)) {
    return SynergyError{ErrorKind::kHttpStatus,
                        "HTTP status " + std::to_string(http_status) + " (body starts: " + Excerpt(body) + ")", false,
                        http_status};
  }
  pugi::xml_document envelope;
  pugi::xml_parse_result parsed = envelope.load_buffer(body.data(), body.size());
  if (!parsed) {
    if (http_status != 200) {
      return SynergyError{ErrorKind::kHttpStatus, "HTTP status " + std::to_string(http_status), false, http_status};
    }
    return Malformed(std::string("response is not XML: ") + parsed.description(), body);
  }

  std::string result;
  if (protocol == Protocol::kForm) {
    // <string xmlns="http://edupoint.com/webservices/">escaped result</string>
    result = InnerText(envelope.document_element());
  } else {
    pugi::xml_node soap_body = ChildByLocalName(envelope.document_element(), "Body");
    if (!soap_body) return Malformed("SOAP response has no Body", body);
    if (pugi::xml_node fault = ChildByLocalName(soap_body, "Fault")) {
      std::string reason = Trim(InnerText(ChildByLocalName(fault, "faultstring")));
      return SynergyError{ErrorKind::kRemote, "SOAP fault: " + reason, false};
    }
    if (http_status != 200) {
      return SynergyError{ErrorKind::kHttpStatus, "HTTP status " + std::to_string(http_status), false, http_status};
    }
    pugi::xml_node result_node = DescendantByLocalName(soap_body, "ProcessWebServiceRequestResult");
    if (!result_node) return Malformed("SOAP response has no ProcessWebServiceRequestResult", body);
    result = InnerText(result_node);
  }

  // The result is itself XML; an RT_ERROR document is the failure report.
  pugi::xml_document inner;
  if (inner.load_buffer(result.data(), result.size())) {
    pugi::xml_node root = inner.document_element();
    if (LocalName(root) == "RT_ERROR") {
      std::string message = root.attribute("ERROR_MESSAGE").value();
      return SynergyError{ClassifyRtError(message), "RT_ERROR: " + message, false};
    }
  }
  return result;
}

std::string ReportExecuteParams(const ReportRequest& request) {
  std::string params = "<ReportExecute><ID>" + XmlEscape(request.report_id) + "</ID><SCHOOL>" +
                       XmlEscape(request.school) + "</SCHOOL><YEAR>" + XmlEscape(request.year) +
                       "</YEAR><YEAREXT/><OUTPUTTYPE>" + (request.format == ReportFormat::kCsv ? "CSV" : "XML") +
                       "</OUTPUTTYPE><OPTION_GROUP>";
  for (const auto& option : request.options) {
    params += "<OPTION PROPERTY=\"" + XmlEscape(option.property) + "\">" + XmlEscape(option.value) + "</OPTION>";
  }
  return params + "</OPTION_GROUP></ReportExecute>";
}

std::string ReportStatusParams(const std::string& job_id) {
  return "<ReportStatus><JOBID>" + XmlEscape(job_id) + "</JOBID></ReportStatus>";
}

std::string ReportResultParams(const std::string& job_id, ReportFormat format) {
  return "<ReportResult><JOBID>" + XmlEscape(job_id) + "</JOBID><FILE>Main</FILE><EncodeBase64>" +
         (format == ReportFormat::kXml ? "Y" : "N") + "</EncodeBase64></ReportResult>";
}

SynergyResult<std::string> ParseJobId(std::string_view result_xml) {
  pugi::xml_document document;
  auto root = ParseResult(document, result_xml, "REPORTEXECUTE");
  if (!root) return root.error();
  std::string job_id = Trim(InnerText(ChildByLocalName(*root, "JOBID")));
  if (job_id.empty()) return Malformed("REPORTEXECUTE has no JOBID", result_xml);
  return job_id;
}

SynergyResult<JobStatus> ParseJobStatus(std::string_view result_xml) {
  pugi::xml_document document;
  auto root = ParseResult(document, result_xml, "REPORTSTATUS");
  if (!root) return root.error();
  JobStatus status;
  status.text = Trim(InnerText(ChildByLocalName(*root, "STATE")));
  status.message = Trim(InnerText(ChildByLocalName(*root, "MESSAGE")));
  std::string lower = status.text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // NOTE: public clients show Waiting, InProgress and Error; the name of the done state is
  // not documented, so the common spellings are accepted.
  if (lower == "waiting" || lower == "queued") {
    status.state = JobState::kWaiting;
  } else if (lower == "inprogress" || lower == "in progress" || lower == "running") {
    status.state = JobState::kInProgress;
  } else if (lower == "complete" || lower == "completed" || lower == "done" || lower == "finished") {
    status.state = JobState::kDone;
  } else if (lower == "error" || lower == "failed") {
    status.state = JobState::kError;
  } else {
    return Malformed("unknown report job STATE '" + status.text + "'", result_xml);
  }
  return status;
}

std::string CsvField(std::string_view value) {
  if (value.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

SynergyResult<std::string> RevReportToCsv(std::string_view rev_report_xml) {
  pugi::xml_document document;
  auto root = ParseResult(document, rev_report_xml, "REV_REPORT");
  if (!root) return root.error();
  pugi::xml_node label_group = ChildByLocalName(ChildByLocalName(*root, "REV_DATA_DEF"), "REV_LABEL_GROUP");
  if (!label_group) return Malformed("REV_REPORT has no REV_DATA_DEF/REV_LABEL_GROUP", rev_report_xml);

  // Each label element names a row attribute; its Label attribute is the column heading.
  struct Column {
    long order;
    std::string attribute;
    std::string label;
  };
  std::vector<Column> columns;
  for (pugi::xml_node label = label_group.first_child(); label; label = label.next_sibling()) {
    if (label.type() != pugi::node_element) continue;
    std::string heading = label.attribute("Label").value();
    columns.push_back({label.attribute("ORDER").as_int(static_cast<int>(columns.size())), std::string(label.name()),
                       heading.empty() ? std::string(label.name()) : heading});
  }
  std::stable_sort(columns.begin(), columns.end(),
                   [](const Column& a, const Column& b) { return a.order < b.order; });

  std::string csv;
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + CsvField(columns[i].label);
  csv += "\n";
  // NOTE: the public samples show rows as elements under REV_DATA_ROOT with one attribute
  // per label. Rows nested in group elements are found by descending into elements that
  // have no attribute of their own, which is a guess at the nested shape.
  std::vector<pugi::xml_node> pending = {ChildByLocalName(*root, "REV_DATA_ROOT")};
  while (!pending.empty()) {
    pugi::xml_node parent = pending.back();
    pending.pop_back();
    std::vector<pugi::xml_node> children;
    for (pugi::xml_node row = parent.first_child(); row; row = row.next_sibling()) {
      if (row.type() == pugi::node_element) children.push_back(row);
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) {
      if (!it->first_attribute()) pending.push_back(*it);
    }
    for (const auto& row : children) {
      if (!row.first_attribute()) continue;
      for (size_t i = 0; i < columns.size(); ++i) {
        csv += (i ? "," : "") + CsvField(row.attribute(columns[i].attribute.c_str()).value());
      }
      csv += "\n";
    }
  }
  return csv;
}

SynergyResult<std::string> ParseReportResult(std::string_view result_xml, ReportFormat format) {
  pugi::xml_document document;
  auto root = ParseResult(document, result_xml, "REPORTRESULT");
  if (!root) return root.error();
  pugi::xml_node result = ChildByLocalName(*root, "RESULT");
  if (!result) return Malformed("REPORTRESULT has no RESULT", result_xml);
  std::string text = InnerText(result);
  if (format == ReportFormat::kCsv) return text;

  auto decoded = Base64Decode(text);
  if (!decoded) return Malformed("REPORTRESULT/RESULT is not base64", result_xml);
  return RevReportToCsv(*decoded);
}

}  // namespace tiersync::synergy
