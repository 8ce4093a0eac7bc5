// The Synergy wire format, the session's retries and login throttle, and the ImportData
// sink's key check, with a fake transport and a clock that never sleeps.

#include <gtest/gtest.h>

#include <deque>
#include <functional>

#include "connectors/csv/csv_reader.h"
#include "connectors/synergy/import_sink.h"
#include "connectors/synergy/protocol.h"
#include "connectors/synergy/synergy_client.h"

namespace tiersync::synergy {
namespace {

class FakeClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return now; }
  void Sleep(std::chrono::milliseconds duration) override {
    now += duration;
    sleeps.push_back(duration);
  }
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
};

// Returns the next scripted reply for each request and records the requests sent.
class FakeTransport : public http::Transport {
 public:
  std::vector<http::Request> sent;
  std::deque<http::HttpResult> replies;

  http::HttpResult Send(const http::Request& request) override {
    sent.push_back(request);
    if (replies.empty()) return http::Failure{http::FailureKind::kConnect, false, "no reply scripted"};
    http::HttpResult reply = std::move(replies.front());
    replies.pop_front();
    return reply;
  }
  void Close() override {}
  const std::string& display_url() const override { return url_; }

 private:
  std::string url_ = "https://synergy.test:443";
};

// A form-POST response carrying `result` as escaped text, as Synergy sends it.
http::Response FormReply(const std::string& result, const std::string& cookie = "") {
  http::Response response;
  response.status = 200;
  if (!cookie.empty()) response.headers.emplace_back("Set-Cookie", cookie + "; path=/; HttpOnly");
  response.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><string xmlns=\"http://edupoint.com/webservices/\">" +
                  XmlEscape(result) + "</string>";
  return response;
}

std::string ParamStrOf(const http::Request& request) {
  auto at = request.body.find("paramStr=");
  return at == std::string::npos ? std::string() : request.body.substr(at + 9);
}

std::string MethodOf(const http::Request& request) {
  auto at = request.body.find("methodName=");
  auto end = request.body.find('&', at);
  return request.body.substr(at + 11, end - at - 11);
}

TEST(SynergyProtocol, FormRequestEscapesParamStr) {
  http::Request request =
      BuildRequest(Protocol::kForm, {"svc", "p&ss word"}, {kReportsHandle, "ReportStatus", "<Parms><A>1</A></Parms>"});
  EXPECT_EQ(request.target, "/Service/RTCommunication.asmx/ProcessWebServiceRequest");
  EXPECT_EQ(request.content_type, "application/x-www-form-urlencoded");
  EXPECT_NE(request.body.find("password=p%26ss+word"), std::string::npos);
  EXPECT_NE(request.body.find("webServiceHandleName=Revelation.Reports"), std::string::npos);
  EXPECT_NE(request.body.find("paramStr=%3CParms%3E%3CA%3E1%3C%2FA%3E%3C%2FParms%3E"), std::string::npos);
}

TEST(SynergyProtocol, SoapRequestCarriesEscapedParamStr) {
  http::Request request = BuildRequest(Protocol::kSoap, {"svc", "pw"}, {kImportHandle, "ImportData", "<ROOT/>"});
  EXPECT_EQ(request.target, "/Service/RTCommunication.asmx");
  ASSERT_EQ(request.headers.size(), 1u);
  EXPECT_EQ(request.headers[0].second, "\"http://edupoint.com/webservices/ProcessWebServiceRequest\"");
  EXPECT_NE(request.body.find("<paramStr>&lt;ROOT/&gt;</paramStr>"), std::string::npos);
  EXPECT_LT(request.body.find("<userID>"), request.body.find("<paramStr>"));
}

TEST(SynergyProtocol, ResultIsParsedTwice) {
  // The CSV inside RESULT was escaped once for the result XML and once more for the envelope.
  std::string result = "<REPORTRESULT><RESULT>" + XmlEscape("ID,NAME\n1,A & B <x>\n") + "</RESULT></REPORTRESULT>";
  http::Response response = FormReply(result);
  auto parsed = ParseResponse(Protocol::kForm, 200, response.body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto csv = ParseReportResult(*parsed, ReportFormat::kCsv);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(*csv, "ID,NAME\n1,A & B <x>\n");
}

TEST(SynergyProtocol, SoapResultAndFault) {
  std::string envelope =
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
      "<ProcessWebServiceRequestResponse xmlns=\"http://edupoint.com/webservices/\"><ProcessWebServiceRequestResult>" +
      XmlEscape("<REPORTEXECUTE><JOBID>J-7</JOBID></REPORTEXECUTE>") +
      "</ProcessWebServiceRequestResult></ProcessWebServiceRequestResponse></soap:Body></soap:Envelope>";
  auto parsed = ParseResponse(Protocol::kSoap, 200, envelope);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto job = ParseJobId(*parsed);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(*job, "J-7");

  std::string fault =
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault>"
      "<faultcode>soap:Server</faultcode><faultstring>Server was unable to process request.</faultstring>"
      "</soap:Fault></soap:Body></soap:Envelope>";
  auto failed = ParseResponse(Protocol::kSoap, 500, fault);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::kRemote);
  EXPECT_NE(failed.error().message.find("unable to process"), std::string::npos);
}

TEST(SynergyProtocol, RtErrorsBecomeTypedErrors) {
  auto bad_password = ParseResponse(
      Protocol::kForm, 200, FormReply("<RT_ERROR ERROR_MESSAGE=\"Invalid user id or password\"/>").body);
  ASSERT_FALSE(bad_password.ok());
  EXPECT_EQ(bad_password.error().kind, ErrorKind::kAuthentication);
  EXPECT_FALSE(bad_password.error().Retryable());
  EXPECT_TRUE(bad_password.error().NeedsOperator());

  auto refused = ParseResponse(
      Protocol::kForm, 200, FormReply("<RT_ERROR ERROR_MESSAGE=\"Login refused: try later\"/>").body);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kLoginRefused);
  EXPECT_TRUE(refused.error().Retryable());

  auto other = ParseResponse(Protocol::kForm, 200,
                             FormReply("<RT_ERROR ERROR_MESSAGE=\"X is not a valid method.\"/>").body);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::kRemote);
  EXPECT_TRUE(other.error().Retryable());
  EXPECT_FALSE(other.error().NeedsOperator());

  auto busy = ParseResponse(Protocol::kForm, 503, "busy");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind, ErrorKind::kHttpStatus);
  EXPECT_TRUE(busy.error().Retryable());
  EXPECT_FALSE(busy.error().NeedsOperator());

  auto wrong_path = ParseResponse(Protocol::kForm, 404, "not found");
  ASSERT_FALSE(wrong_path.ok());
  EXPECT_EQ(wrong_path.error().kind, ErrorKind::kHttpStatus);
  EXPECT_FALSE(wrong_path.error().Retryable());
  EXPECT_TRUE(wrong_path.error().NeedsOperator());
}

TEST(SynergyProtocol, RevReportKeepsDuplicateLabels) {
  std::string report =
      "<REV_REPORT><REV_DATA_DEF><REV_LABEL_GROUP>"
      "<CHANGED Label=\"DATE\" ORDER=\"3\"/><SIS Label=\"SIS_NUMBER\" ORDER=\"1\"/><ABS Label=\"DATE\" ORDER=\"2\"/>"
      "</REV_LABEL_GROUP></REV_DATA_DEF><REV_DATA_ROOT>"
      "<ROW SIS=\"100\" ABS=\"10/04/2021\" CHANGED=\"10/05/2021\"/>"
      "<GROUP><ROW SIS=\"101, Jr\" ABS=\"10/06/2021\" CHANGED=\"\"/></GROUP>"
      "</REV_DATA_ROOT></REV_REPORT>";
  std::string result = "<REPORTRESULT><RESULT>" + Base64Encode(report) + "</RESULT></REPORTRESULT>";
  auto csv = ParseReportResult(result, ReportFormat::kXml);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(*csv, "SIS_NUMBER,DATE,DATE\n100,10/04/2021,10/05/2021\n\"101, Jr\",10/06/2021,\n");

  CsvReader reader(*csv);
  CsvRow header;
  ASSERT_TRUE(reader.Next(header));
  EXPECT_EQ(UniqueHeaderNames(header.fields), (std::vector<std::string>{"SIS_NUMBER", "DATE", "DATE#2"}));
}

TEST(SynergyProtocol, Base64RoundTrip) {
  for (std::string text : {"", "a", "ab", "abc", "abcd", "<REV_REPORT/>\n\xff"}) {
    auto decoded = Base64Decode(Base64Encode(text));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_FALSE(Base64Decode("ab$d").has_value());
}

TEST(SynergyClient, BackoffIsFullJitterWithCap) {
  FakeClock clock;
  int64_t last_bound = 0;
  SessionSettings settings;
  settings.retry = {8, std::chrono::milliseconds(500), std::chrono::milliseconds(3000)};
  SynergyClient client(settings, std::make_unique<FakeTransport>(), clock, [&](int64_t bound) {
    last_bound = bound;
    return bound - 1;  // the largest delay allowed
  });
  EXPECT_EQ(client.BackoffDelay(1).count(), 500);
  EXPECT_EQ(client.BackoffDelay(2).count(), 1000);
  EXPECT_EQ(client.BackoffDelay(3).count(), 2000);
  EXPECT_EQ(client.BackoffDelay(4).count(), 3000);
  EXPECT_EQ(client.BackoffDelay(20).count(), 3000);
  EXPECT_EQ(last_bound, 3001);  // any value from 0 to the cap
}

TEST(SynergyClient, ReusesSessionCookie) {
  FakeClock clock;
  auto transport = std::make_unique<FakeTransport>();
  FakeTransport& fake = *transport;
  fake.replies.push_back(FormReply("<OK/>", "ASP.NET_SessionId=abc"));
  fake.replies.push_back(FormReply("<OK/>"));
  SynergyClient client({}, std::move(transport), clock, [](int64_t) { return 0; });
  ASSERT_TRUE(client.Call({kReportsHandle, "ReportStatus", "<x/>"}, true).ok());
  ASSERT_TRUE(client.Call({kReportsHandle, "ReportStatus", "<x/>"}, true).ok());
  EXPECT_EQ(client.logins(), 1);
  ASSERT_EQ(fake.sent.size(), 2u);
  EXPECT_TRUE(fake.sent[0].headers.empty());
  ASSERT_EQ(fake.sent[1].headers.size(), 1u);
  EXPECT_EQ(fake.sent[1].headers[0], (std::pair<std::string, std::string>{"Cookie", "ASP.NET_SessionId=abc"}));
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST(SynergyClient, ThrottlesSecondLogin) {
  FakeClock clock;
  auto transport = std::make_unique<FakeTransport>();
  FakeTransport& fake = *transport;
  // No cookie comes back, so every request is a login of its own.
  fake.replies.push_back(FormReply("<OK/>"));
  fake.replies.push_back(FormReply("<OK/>"));
  SessionSettings settings;
  settings.min_login_interval = std::chrono::milliseconds(3000);
  SynergyClient client(settings, std::move(transport), clock, [](int64_t) { return 0; });
  ASSERT_TRUE(client.Call({kReportsHandle, "ReportStatus", "<x/>"}, true).ok());
  clock.now += std::chrono::milliseconds(1200);
  ASSERT_TRUE(client.Call({kReportsHandle, "ReportStatus", "<x/>"}, true).ok());
  EXPECT_EQ(client.logins(), 2);
  ASSERT_EQ(clock.sleeps.size(), 1u);
  EXPECT_EQ(clock.sleeps[0].count(), 1800);
}

TEST(SynergyClient, RetriesOnlyWhatCanHeal) {
  FakeClock clock;
  auto transport = std::make_unique<FakeTransport>();
  FakeTransport& fake = *transport;
  SessionSettings settings;
  settings.retry = {3, std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
  settings.min_login_interval = std::chrono::milliseconds(0);
  SynergyClient client(settings, std::move(transport), clock, [](int64_t bound) { return bound - 1; });

  // Refused connections heal: two failures, then a response.
  fake.replies.push_back(http::Failure{http::FailureKind::kConnect, false, "connection refused"});
  fake.replies.push_back(http::Failure{http::FailureKind::kConnect, false, "connection refused"});
  fake.replies.push_back(FormReply("<OK/>"));
  ASSERT_TRUE(client.Call({kReportsHandle, "ReportStatus", "<x/>"}, true).ok());
  EXPECT_EQ(fake.sent.size(), 3u);
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(100),
                                                                   std::chrono::milliseconds(200)}));

  // Bad credentials are never retried.
  fake.sent.clear();
  fake.replies.push_back(FormReply("<RT_ERROR ERROR_MESSAGE=\"Invalid user id or password\"/>"));
  auto denied = client.Call({kReportsHandle, "ReportStatus", "<x/>"}, true);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind, ErrorKind::kAuthentication);
  EXPECT_EQ(fake.sent.size(), 1u);

  // A timeout after sending is returned at once for a call that is not idempotent.
  fake.sent.clear();
  fake.replies.push_back(http::Failure{http::FailureKind::kTimeout, true, "no response within 500 ms"});
  auto uncertain = client.Call({kImportHandle, "ImportData", "<ROOT/>"}, false);
  ASSERT_FALSE(uncertain.ok());
  EXPECT_TRUE(uncertain.error().maybe_processed);
  EXPECT_EQ(fake.sent.size(), 1u);
}

TEST(SynergyImportSink, ChecksKeysAfterUncertainFailure) {
  FakeClock clock;
  auto transport = std::make_unique<FakeTransport>();
  FakeTransport& fake = *transport;
  SessionSettings settings;
  settings.poll_interval = std::chrono::milliseconds(10);
  SynergyClient client(settings, std::move(transport), clock, [](int64_t) { return 0; });

  SynergySinkConfig config;
  ImportTemplate task;
  task.element = "TASK";
  task.attributes = {{"IDEMPOTENCY_KEY", "{idempotency_key}"}, {"TITLE", "{title}"}};
  config.templates[ActionKind::kTask] = task;
  config.key_check = {"KEYS", ReportFormat::kCsv, "IDEMPOTENCY_KEY", {{"KEYS", "{keys}"}}};
  config.check_before_every_send = false;  // the first check comes after the uncertain failure
  SynergyImportSink sink(config, client);

  std::vector<OutboxEntry> batch(2);
  batch[0].id = 1;
  batch[0].action.idempotency_key = "k1";
  batch[0].action.title = "Call the family & share \"impact\" <soon>";
  batch[1].id = 2;
  batch[1].action.idempotency_key = "k2";

  EXPECT_EQ(sink.BuildImportDocument({batch[0]}),
            "<ROOT><TASK IDEMPOTENCY_KEY=\"k1\" TITLE=\"Call the family &amp; share &quot;impact&quot; &lt;soon>\"/>"
            "</ROOT>");

  // The first ImportData times out after sending; the key check finds k1 only, so only k2
  // is sent again.
  fake.replies.push_back(http::Failure{http::FailureKind::kTimeout, true, "no response"});
  fake.replies.push_back(FormReply("<REPORTEXECUTE><JOBID>J1</JOBID></REPORTEXECUTE>", "ASP.NET_SessionId=s"));
  fake.replies.push_back(FormReply("<REPORTSTATUS><STATE>Complete</STATE></REPORTSTATUS>"));
  fake.replies.push_back(FormReply("<REPORTRESULT><RESULT>IDEMPOTENCY_KEY\nk1\n</RESULT></REPORTRESULT>"));
  fake.replies.push_back(FormReply("<IMPORTDATA_RESULT IMPORT_ID=\"77\"/>"));
  auto receipt = sink.Deliver(batch);
  ASSERT_TRUE(receipt.ok()) << receipt.error().message;
  EXPECT_EQ(receipt->remote_id, "ImportData 77");

  ASSERT_EQ(fake.sent.size(), 5u);
  std::vector<std::string> methods;
  for (const auto& request : fake.sent) methods.push_back(MethodOf(request));
  EXPECT_EQ(methods, (std::vector<std::string>{"ImportData", "ReportExecute", "ReportStatus", "ReportResult",
                                               "ImportData"}));
  EXPECT_NE(ParamStrOf(fake.sent[1]).find("k1%2Ck2"), std::string::npos);
  EXPECT_EQ(ParamStrOf(fake.sent[4]).find("k1"), std::string::npos);
  EXPECT_NE(ParamStrOf(fake.sent[4]).find("k2"), std::string::npos);
}

}  // namespace
}  // namespace tiersync::synergy
