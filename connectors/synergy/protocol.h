#pragma once

// The wire format of Synergy's staff web service `ProcessWebServiceRequest` at
// /Service/RTCommunication.asmx, as a form POST or as SOAP 1.1 (namespace
// http://edupoint.com/webservices/). `paramStr` is an XML document sent as escaped text and
// the result is XML returned as escaped text inside the response, so both are parsed
// twice. HTTP is 200 even on failure; failures are <RT_ERROR ERROR_MESSAGE="...">.
//
// Nothing here touches the network; synergy_client.h sends what this builds.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/expected.h"
#include "connectors/http/http_client.h"

namespace tiersync::synergy {

inline constexpr const char* kNamespace = "http://edupoint.com/webservices/";
inline constexpr const char* kServicePath = "/Service/RTCommunication.asmx";
inline constexpr const char* kReportsHandle = "Revelation.Reports";
inline constexpr const char* kImportHandle = "K12.IntegrationInfo.SISDataImport";

enum class Protocol { kForm, kSoap };

enum class ErrorKind {
  kAuthentication,  // RT_ERROR: the user id or password is wrong
  kLoginRefused,    // RT_ERROR: a second login within the server's minimum interval
  kRemote,          // any other RT_ERROR, or a SOAP fault
  kHttpStatus,      // a status other than 200
  kMalformed,       // the response is not the expected XML
  kJobFailed,       // a report job ended in state Error
  kJobTimeout,      // a report job did not finish within the configured time
  kInvalidUrl,
  kConnect,
  kTlsVerify,
  kTls,
  kTimeout,
  kTransport,
};

const char* ErrorKindName(ErrorKind kind);

struct SynergyError {
  ErrorKind kind = ErrorKind::kRemote;
  std::string message;
  // The server may have acted on the request although no usable response came back (a
  // timeout or a broken connection after the request was sent).
  bool maybe_processed = false;
  int http_status = 0;  // set for kHttpStatus

  // Whether trying again can succeed without a configuration change.
  bool Retryable() const;
  // Whether the failure needs an operator (credentials, certificate, URL, a server that
  // cannot be reached) and so ends the cycle without counting a delivery attempt.
  bool NeedsOperator() const;
};

template <typename T>
using SynergyResult = Expected<T, SynergyError>;

struct Credentials {
  std::string user_id;
  std::string password;
};

// One ProcessWebServiceRequest call. `params` is the paramStr XML document.
struct ServiceCall {
  std::string handle;
  std::string method;
  std::string params;
};

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view text);

// Percent-encodes a value for application/x-www-form-urlencoded.
std::string FormEncode(std::string_view text);

std::string Base64Encode(std::string_view bytes);
// Returns nullopt for characters outside the base64 alphabet; whitespace is skipped.
std::optional<std::string> Base64Decode(std::string_view text);

// Builds the HTTP request for `call`. The password travels in the body, as Synergy wants,
// and nothing here logs it.
http::Request BuildRequest(Protocol protocol, const Credentials& credentials, const ServiceCall& call);

// Returns the result XML of a response body (unescaped once), or the RT_ERROR, SOAP fault
// or malformed body as an error.
SynergyResult<std::string> ParseResponse(Protocol protocol, int http_status, std::string_view body);

// Sorts an RT_ERROR message into authentication, refused login or other remote error.
ErrorKind ClassifyRtError(std::string_view message);

// --- Revelation.Reports ------------------------------------------------------------

enum class ReportFormat { kCsv, kXml };

struct ReportOption {
  std::string property;
  std::string value;
};

struct ReportRequest {
  std::string report_id;
  std::string school;  // empty for every school
  std::string year;    // empty for the server's current year
  ReportFormat format = ReportFormat::kCsv;
  std::vector<ReportOption> options;
};

std::string ReportExecuteParams(const ReportRequest& request);
std::string ReportStatusParams(const std::string& job_id);
std::string ReportResultParams(const std::string& job_id, ReportFormat format);

SynergyResult<std::string> ParseJobId(std::string_view result_xml);

enum class JobState { kWaiting, kInProgress, kDone, kError };
struct JobStatus {
  JobState state = JobState::kWaiting;
  std::string text;     // the STATE as sent
  std::string message;  // MESSAGE, set for errors
};
SynergyResult<JobStatus> ParseJobStatus(std::string_view result_xml);

// Returns the report as CSV text: plain CSV as sent, or the base64 REV_REPORT document
// turned into CSV (labels from REV_DATA_DEF/REV_LABEL_GROUP in ORDER, rows from
// REV_DATA_ROOT).
SynergyResult<std::string> ParseReportResult(std::string_view result_xml, ReportFormat format);

// Converts a decoded REV_REPORT document to CSV text with a header row.
SynergyResult<std::string> RevReportToCsv(std::string_view rev_report_xml);

// Quotes a CSV field when it contains a comma, quote or line break.
std::string CsvField(std::string_view value);

}  // namespace tiersync::synergy
