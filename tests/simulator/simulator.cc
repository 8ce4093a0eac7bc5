#include "tests/simulator/simulator.h"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <pugixml.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "base/date.h"
#include "base/units.h"
#include "connectors/csv/csv_source.h"
#include "connectors/edfi/edfi_xml_source.h"
#include "connectors/source.h"
#include "connectors/synergy/protocol.h"
#include "rules/attendance_rules.h"
#include "store/sqlite.h"

namespace tiersync::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using synergy::XmlEscape;

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "none";
    case Fault::kLatency:
      return "latency";
    case Fault::kRtError:
      return "rt_error";
    case Fault::kHttp500:
      return "http_500";
    case Fault::kDropBeforeProcessing:
      return "drop_before_processing";
    case Fault::kDropAfterProcessing:
      return "drop_after_processing";
    case Fault::kTruncatedBody:
      return "truncated_body";
    case Fault::kStuckJob:
      return "stuck_job";
    case Fault::kRefuseLogin:
      break;
  }
  return "refuse_login";
}

namespace {

constexpr const char* kSessionCookie = "ASP.NET_SessionId";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS calendar (school TEXT, date TEXT, fraction TEXT, PRIMARY KEY (school, date));
CREATE TABLE IF NOT EXISTS enrollment (student TEXT, school TEXT, entry TEXT, exit TEXT, grade TEXT,
  PRIMARY KEY (student, school, entry));
CREATE TABLE IF NOT EXISTS daily_attendance (student TEXT, school TEXT, date TEXT, code TEXT, fte TEXT,
  changed TEXT, PRIMARY KEY (student, date, code));
CREATE TABLE IF NOT EXISTS period_attendance (student TEXT, school TEXT, date TEXT, period TEXT, code TEXT,
  PRIMARY KEY (student, date, period, code));
CREATE TABLE IF NOT EXISTS absence_code (code TEXT PRIMARY KEY, description TEXT, type TEXT);
CREATE TABLE IF NOT EXISTS import (sequence INTEGER PRIMARY KEY, element TEXT, key TEXT, attributes TEXT);
)sql";

std::string UsDate(const std::string& iso) {
  auto date = Date::Parse(iso);
  if (!date) return iso;
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%02u/%02u/%04d", date->month(), date->day(), date->year());
  return buffer;
}

std::string IsoFromUs(const std::string& us) {
  auto date = ParseDate(us, DateFormat::kUs);
  return date ? date->ToString() : std::string();
}

std::string FormDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string_view LocalName(const pugi::xml_node& node) {
  std::string_view name = node.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node FindByLocalName(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    if (LocalName(child) == name) return child;
    if (pugi::xml_node found = FindByLocalName(child, name)) return found;
  }
  return {};
}

// A report's rows: `fields` name the XML attributes, `labels` the headings (which may repeat).
struct Table {
  std::vector<std::string> fields;
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> rows;
};

std::string RenderCsv(const Table& table) {
  std::string csv;
  for (size_t i = 0; i < table.labels.size(); ++i) csv += (i ? "," : "") + synergy::CsvField(table.labels[i]);
  csv += "\r\n";
  for (const auto& row : table.rows) {
    for (size_t i = 0; i < row.size(); ++i) csv += (i ? "," : "") + synergy::CsvField(row[i]);
    csv += "\r\n";
  }
  return csv;
}

std::string RenderRevReport(const Table& table) {
  std::string xml = "<REV_REPORT><REV_DATA_DEF><REV_LABEL_GROUP>";
  for (size_t i = 0; i < table.fields.size(); ++i) {
    xml += "<" + table.fields[i] + " Label=\"" + XmlEscape(table.labels[i]) + "\" ORDER=\"" + std::to_string(i + 1) +
           "\"/>";
  }
  xml += "</REV_LABEL_GROUP></REV_DATA_DEF><REV_DATA_ROOT>";
  for (const auto& row : table.rows) {
    xml += "<ROW";
    for (size_t i = 0; i < row.size(); ++i) xml += " " + table.fields[i] + "=\"" + XmlEscape(row[i]) + "\"";
    xml += "/>";
  }
  return xml + "</REV_DATA_ROOT></REV_REPORT>";
}

struct Job {
  std::string report_id;
  bool xml = false;
  std::string result;  // rendered when the job was created
  int polls = 0;
  bool stuck = false;
};

// What the connection thread does with a handled request.
struct Reply {
  enum class Action { kRespond, kDrop, kTruncate } action = Action::kRespond;
  int status = 200;
  std::string content_type = "text/xml; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool delay = false;
};

}  // namespace

struct SynergySimulator::Impl {
  SimulatorOptions options;

  // Guards everything below it, up to the network members.
  mutable std::mutex mutex;
  sqlite::Database db;
  std::map<std::string, Job> jobs;
  int64_t next_job = 1;
  std::map<std::string, std::string> sessions;  // session id -> user id
  int64_t next_session = 1;
  std::map<std::string, std::chrono::steady_clock::time_point> last_login;
  FaultPlan plan;
  std::mt19937_64 random{1};
  std::deque<std::pair<Fault, std::string>> queued;  // fault and the method it waits for
  int64_t request_count = 0;
  int64_t login_count = 0;
  int64_t rejected_login_count = 0;
  std::map<Fault, int64_t> fault_counts;

  asio::io_context io;
  std::optional<ssl::context> tls;
  std::unique_ptr<tcp::acceptor> acceptor;
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  std::condition_variable stop_signal;
  std::thread accept_thread;
  std::mutex connections_mutex;
  std::vector<std::thread> connection_threads;
  std::set<int> open_sockets;

  explicit Impl(SimulatorOptions simulator_options) : options(std::move(simulator_options)), db(options.db_path, true) {
    db.Exec("PRAGMA journal_mode = WAL");
    db.Exec(kSchema);
  }

  // --- Faults --------------------------------------------------------------------------

  Fault NextFault(const std::string& method) {
    for (auto it = queued.begin(); it != queued.end(); ++it) {
      if (it->second.empty() || it->second == method) {
        Fault fault = it->first;
        queued.erase(it);
        return fault;
      }
    }
    if (plan.probability <= 0 || plan.kinds.empty()) return Fault::kNone;
    std::uniform_real_distribution<double> chance(0, 1);
    if (chance(random) >= plan.probability) return Fault::kNone;
    return plan.kinds[std::uniform_int_distribution<size_t>(0, plan.kinds.size() - 1)(random)];
  }

  // --- Reports ---------------------------------------------------------------------------

  std::optional<Table> BuildReport(const std::string& id, const std::map<std::string, std::string>& report_options) {
    Table table;
    auto option = [&](const std::string& name) {
      auto found = report_options.find(name);
      return found == report_options.end() ? std::string() : found->second;
    };
    if (id == "TS-ABS-CODES") {
      table.fields = {"ABBREVIATION", "DESCRIPTION", "TYPE"};
      table.labels = table.fields;
      auto rows = db.Prepare("SELECT code, description, type FROM absence_code ORDER BY code");
      while (rows.Step()) table.rows.push_back({rows.Text(0), rows.Text(1), rows.Text(2)});
    } else if (id == "TS-CALENDAR") {
      table.fields = {"SCHOOL_CODE", "CAL_DATE", "DAY_FRACTION"};
      table.labels = table.fields;
      auto rows = db.Prepare("SELECT school, date, fraction FROM calendar ORDER BY school, date");
      while (rows.Step()) table.rows.push_back({rows.Text(0), UsDate(rows.Text(1)), rows.Text(2)});
    } else if (id == "TS-ENROLLMENTS") {
      table.fields = {"SIS_NUMBER", "SCHOOL_CODE", "ENTER_DATE", "LEAVE_DATE", "GRADE"};
      table.labels = table.fields;
      auto rows = db.Prepare("SELECT student, school, entry, exit, grade FROM enrollment ORDER BY student, entry");
      while (rows.Step()) {
        table.rows.push_back({rows.Text(0), rows.Text(1), UsDate(rows.Text(2)),
                              rows.Text(3).empty() ? "" : UsDate(rows.Text(3)), rows.Text(4)});
      }
    } else if (id == "TS-ATT-DAILY" || id == "TS-ATT-PERIOD") {
      std::string first = IsoFromUs(option("START_DATE"));
      std::string last = IsoFromUs(option("END_DATE"));
      if (first.empty() || last.empty()) return std::nullopt;
      if (id == "TS-ATT-DAILY") {
        // Synergy's CSV export repeats headings: both dates are labelled DATE.
        table.fields = {"SIS_NUMBER", "SCHOOL_CODE", "ABS_DATE", "CODE", "ABS_FTE", "CHANGE_DATE"};
        table.labels = {"SIS_NUMBER", "SCHOOL_CODE", "DATE", "CODE", "ABS_FTE", "DATE"};
        auto rows = db.Prepare(
            "SELECT student, school, date, code, fte, changed FROM daily_attendance WHERE date BETWEEN ? AND ? "
            "ORDER BY date, student, code");
        rows.Bind(1, first).Bind(2, last);
        while (rows.Step()) {
          table.rows.push_back({rows.Text(0), rows.Text(1), UsDate(rows.Text(2)), rows.Text(3), rows.Text(4),
                                UsDate(rows.Text(5))});
        }
      } else {
        table.fields = {"SIS_NUMBER", "SCHOOL_CODE", "ABS_DATE", "BELL_PERIOD", "CODE"};
        table.labels = {"SIS_NUMBER", "SCHOOL_CODE", "DATE", "BELL_PERIOD", "CODE"};
        auto rows = db.Prepare(
            "SELECT student, school, date, period, code FROM period_attendance WHERE date BETWEEN ? AND ? "
            "ORDER BY date, student, period");
        rows.Bind(1, first).Bind(2, last);
        while (rows.Step()) {
          table.rows.push_back({rows.Text(0), rows.Text(1), UsDate(rows.Text(2)), rows.Text(3), rows.Text(4)});
        }
      }
    } else if (id == "TS-IMPORT-KEYS") {
      table.fields = {"IDEMPOTENCY_KEY"};
      table.labels = table.fields;
      std::set<std::string> wanted;
      std::string keys = option("KEYS");
      for (size_t start = 0; start <= keys.size();) {
        size_t comma = keys.find(',', start);
        if (comma == std::string::npos) comma = keys.size();
        if (comma > start) wanted.insert(keys.substr(start, comma - start));
        start = comma + 1;
      }
      auto rows = db.Prepare("SELECT DISTINCT key FROM import ORDER BY key");
      while (rows.Step()) {
        if (wanted.count(rows.Text(0))) table.rows.push_back({rows.Text(0)});
      }
    } else {
      return std::nullopt;
    }
    return table;
  }

  // Runs one web-service method and returns its result XML (or an RT_ERROR document).
  std::string Dispatch(const std::string& handle, const std::string& method, const std::string& params, Fault fault) {
    auto rt_error = [](const std::string& message) {
      return "<RT_ERROR ERROR_MESSAGE=\"" + XmlEscape(message) + "\"><STACK_TRACE/></RT_ERROR>";
    };
    pugi::xml_document document;
    if (!document.load_string(params.c_str())) return rt_error("paramStr is not valid XML");
    pugi::xml_node root = document.document_element();

    if (handle == synergy::kReportsHandle && method == "ReportExecute") {
      std::string id = root.child_value("ID");
      std::map<std::string, std::string> report_options;
      for (pugi::xml_node option : root.child("OPTION_GROUP").children("OPTION")) {
        report_options[option.attribute("PROPERTY").value()] = option.child_value();
      }
      auto table = BuildReport(id, report_options);
      if (!table) return rt_error("Report " + id + " was not found or its options are invalid");
      Job job;
      job.report_id = id;
      job.xml = std::string(root.child_value("OUTPUTTYPE")) == "XML";
      job.result = job.xml ? synergy::Base64Encode(RenderRevReport(*table)) : RenderCsv(*table);
      job.stuck = fault == Fault::kStuckJob;
      std::string job_id = "JOB-" + std::to_string(next_job++);
      jobs[job_id] = std::move(job);
      return "<REPORTEXECUTE><JOBID>" + job_id + "</JOBID></REPORTEXECUTE>";
    }
    if (handle == synergy::kReportsHandle && (method == "ReportStatus" || method == "ReportResult")) {
      std::string job_id = root.child_value("JOBID");
      auto found = jobs.find(job_id);
      if (found == jobs.end()) return rt_error("Job " + job_id + " was not found");
      Job& job = found->second;
      bool done = !job.stuck && job.polls >= options.polls_until_done;
      if (method == "ReportStatus") {
        if (!done) ++job.polls;
        return "<REPORTSTATUS><JOBID>" + job_id + "</JOBID><STATE>" + (done ? "Complete" : "InProgress") +
               "</STATE></REPORTSTATUS>";
      }
      if (!done) return rt_error("Job " + job_id + " has not finished");
      return "<REPORTRESULT><RESULT>" + XmlEscape(job.result) + "</RESULT></REPORTRESULT>";
    }
    if (handle == synergy::kImportHandle && method == "ImportData") {
      if (LocalName(root) != "ROOT") return rt_error("ImportData expects a ROOT document");
      sqlite::Transaction transaction(db);
      auto insert = db.Prepare("INSERT INTO import (element, key, attributes) VALUES (?, ?, ?)");
      int64_t rows = 0;
      for (pugi::xml_node row = root.first_child(); row; row = row.next_sibling()) {
        if (row.type() != pugi::node_element) continue;
        std::string attributes;
        for (pugi::xml_attribute attribute : row.attributes()) {
          attributes += std::string(attributes.empty() ? "" : " ") + attribute.name() + "=\"" +
                        XmlEscape(attribute.value()) + "\"";
        }
        insert.Bind(1, row.name()).Bind(2, row.attribute(options.key_attribute.c_str()).value())
            .Bind(3, attributes).Run();
        ++rows;
      }
      transaction.Commit();
      return "<IMPORTDATA_RESULT IMPORT_ID=\"" + std::to_string(db.LastInsertRowId()) + "\" ROWS=\"" +
             std::to_string(rows) + "\"/>";
    }
    return rt_error(method + " is not a valid method.");
  }

  // --- HTTP ------------------------------------------------------------------------------

  Reply Handle(const beast::http::request<beast::http::string_body>& request) {
    std::string target(request.target());
    bool form = target == std::string(synergy::kServicePath) + "/ProcessWebServiceRequest";
    bool soap = target == synergy::kServicePath;
    Reply reply;
    if (!form && !soap) {
      reply.status = 404;
      reply.content_type = "text/plain";
      reply.body = "not found: " + target;
      return reply;
    }

    // The seven fields, from form fields or from the SOAP body.
    std::map<std::string, std::string> fields;
    if (form) {
      std::string_view body = request.body();
      for (size_t start = 0; start <= body.size();) {
        size_t amp = body.find('&', start);
        if (amp == std::string_view::npos) amp = body.size();
        std::string_view pair = body.substr(start, amp - start);
        size_t equals = pair.find('=');
        if (equals != std::string_view::npos) fields[FormDecode(pair.substr(0, equals))] = FormDecode(pair.substr(equals + 1));
        start = amp + 1;
      }
    } else {
      pugi::xml_document envelope;
      envelope.load_string(request.body().c_str());
      pugi::xml_node call = FindByLocalName(envelope, "ProcessWebServiceRequest");
      for (pugi::xml_node child = call.first_child(); child; child = child.next_sibling()) {
        if (child.type() == pugi::node_element) fields[std::string(LocalName(child))] = child.child_value();
      }
    }

    std::string result;
    Fault fault;
    {
      std::lock_guard lock(mutex);
      ++request_count;
      fault = NextFault(fields["methodName"]);
      if (fault != Fault::kNone) ++fault_counts[fault];
      if (fault == Fault::kDropBeforeProcessing) {
        reply.action = Reply::Action::kDrop;
        return reply;
      }
      if (fault == Fault::kHttp500) {
        reply.status = 500;
        reply.content_type = "text/plain";
        reply.body = "Internal Server Error";
        return reply;
      }
      result = Authorize(request, fields, fault, reply);
      if (result.empty()) {
        if (fault == Fault::kRtError) {
          result = "<RT_ERROR ERROR_MESSAGE=\"The server could not complete the request; try again later\"/>";
        } else {
          result = Dispatch(fields["webServiceHandleName"], fields["methodName"], fields["paramStr"], fault);
        }
      }
    }

    if (form) {
      reply.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<string xmlns=\"" + std::string(synergy::kNamespace) +
                   "\">" + XmlEscape(result) + "</string>";
    } else {
      reply.body =
          "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
          "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><ProcessWebServiceRequestResponse "
          "xmlns=\"" +
          std::string(synergy::kNamespace) + "\"><ProcessWebServiceRequestResult>" + XmlEscape(result) +
          "</ProcessWebServiceRequestResult></ProcessWebServiceRequestResponse></soap:Body></soap:Envelope>";
    }
    if (fault == Fault::kLatency) reply.delay = true;
    if (fault == Fault::kDropAfterProcessing) reply.action = Reply::Action::kDrop;
    if (fault == Fault::kTruncatedBody) reply.action = Reply::Action::kTruncate;
    return reply;
  }

  // Checks credentials and the session; returns an RT_ERROR document, or "" to go on.
  // Called with `mutex` held.
  std::string Authorize(const beast::http::request<beast::http::string_body>& request,
                        std::map<std::string, std::string>& fields, Fault fault, Reply& reply) {
    auto rt_error = [](const std::string& message) {
      return "<RT_ERROR ERROR_MESSAGE=\"" + XmlEscape(message) + "\"><STACK_TRACE/></RT_ERROR>";
    };
    if (fields["userID"] != options.user_id || fields["password"] != options.password) {
      return rt_error("Invalid user id or password");
    }
    std::string session;
    std::string cookies(request[beast::http::field::cookie]);
    std::string prefix = std::string(kSessionCookie) + "=";
    if (auto at = cookies.find(prefix); at != std::string::npos) {
      session = cookies.substr(at + prefix.size(), cookies.find(';', at) - at - prefix.size());
    }
    if (fault == Fault::kRefuseLogin) {
      sessions.erase(session);
      return rt_error("Login refused: a session for this user was started moments ago");
    }
    if (sessions.count(session)) return "";

    auto now = options.now();
    auto last = last_login.find(options.user_id);
    if (last != last_login.end() && now - last->second < options.min_login_interval) {
      ++rejected_login_count;
      return rt_error("Login refused: a session for this user was started moments ago");
    }
    last_login[options.user_id] = now;
    ++login_count;
    std::string id = "sim-session-" + std::to_string(next_session++);
    sessions[id] = options.user_id;
    reply.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + id + "; path=/; HttpOnly");
    return "";
  }

  template <typename Stream>
  void Serve(Stream& stream) {
    beast::flat_buffer buffer;
    while (!stopping) {
      beast::http::request_parser<beast::http::string_body> parser;
      parser.body_limit(64u << 20);  // Beast's default of 1 MiB is too small for large imports
      boost::system::error_code error;
      beast::http::read(stream, buffer, parser, error);
      if (error) return;
      beast::http::request<beast::http::string_body> request = parser.release();
      Reply reply = Handle(request);
      if (reply.action == Reply::Action::kDrop) return;
      if (reply.delay) {
        std::unique_lock lock(mutex);
        stop_signal.wait_for(lock, options.latency, [&] { return stopping.load(); });
        if (stopping) return;
      }
      beast::http::response<beast::http::string_body> response{static_cast<beast::http::status>(reply.status),
                                                               request.version()};
      response.set(beast::http::field::content_type, reply.content_type);
      for (const auto& [name, value] : reply.headers) response.insert(name, value);
      response.keep_alive(request.keep_alive());
      response.body() = reply.body;
      response.prepare_payload();
      if (reply.action == Reply::Action::kTruncate) {
        std::string raw = "HTTP/1.1 200 OK\r\nContent-Type: " + reply.content_type +
                          "\r\nContent-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" +
                          reply.body.substr(0, reply.body.size() / 2);
        asio::write(stream, asio::buffer(raw), error);
        return;
      }
      beast::http::write(stream, response, error);
      if (error || !request.keep_alive()) return;
    }
  }

  void ServeConnection(tcp::socket socket) {
    if (tls) {
      ssl::stream<tcp::socket&> stream(socket, *tls);
      boost::system::error_code error;
      stream.handshake(ssl::stream_base::server, error);
      if (!error) Serve(stream);
    } else {
      Serve(socket);
    }
    std::lock_guard lock(connections_mutex);
    open_sockets.erase(socket.native_handle());
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  void AcceptLoop() {
    while (!stopping) {
      boost::system::error_code error;
      tcp::socket socket(io);
      acceptor->accept(socket, error);
      if (error || stopping) return;
      std::lock_guard lock(connections_mutex);
      open_sockets.insert(socket.native_handle());
      connection_threads.emplace_back([this, moved = std::move(socket)]() mutable { ServeConnection(std::move(moved)); });
    }
  }
};

SynergySimulator::SynergySimulator(SimulatorOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SynergySimulator::~SynergySimulator() { Stop(); }

void SynergySimulator::Start() {
  Impl& impl = *impl_;
  if (impl.options.tls) {
    impl.tls.emplace(ssl::context::tls_server);
    impl.tls->use_certificate_chain_file(impl.options.cert_file);
    impl.tls->use_private_key_file(impl.options.key_file, ssl::context::pem);
  }
  impl.acceptor = std::make_unique<tcp::acceptor>(impl.io);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), impl.options.port);
  impl.acceptor->open(endpoint.protocol());
  impl.acceptor->set_option(asio::socket_base::reuse_address(true));
  impl.acceptor->bind(endpoint);
  impl.acceptor->listen();
  impl.bound_port = impl.acceptor->local_endpoint().port();
  impl.accept_thread = std::thread([&impl] { impl.AcceptLoop(); });
}

void SynergySimulator::Stop() {
  Impl& impl = *impl_;
  if (!impl.acceptor || impl.stopping.exchange(true)) return;
  // shutdown() wakes the threads blocked in accept() and read() on these sockets.
  ::shutdown(impl.acceptor->native_handle(), SHUT_RDWR);
  {
    std::lock_guard lock(impl.mutex);
    impl.stop_signal.notify_all();
  }
  if (impl.accept_thread.joinable()) impl.accept_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl.connections_mutex);
    for (int fd : impl.open_sockets) ::shutdown(fd, SHUT_RDWR);
    threads = std::move(impl.connection_threads);
  }
  for (auto& thread : threads) thread.join();
  boost::system::error_code ignored;
  impl.acceptor->close(ignored);
}

uint16_t SynergySimulator::port() const { return impl_->bound_port; }

std::string SynergySimulator::url() const {
  return std::string(impl_->options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->bound_port);
}

void SynergySimulator::LoadGrandBend(const std::string& data_dir) {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.mutex);
  auto read = [&](const std::string& name) {
    auto text = ReadFile(data_dir + "/" + name);
    if (!text) throw std::runtime_error(text.error().message);
    return std::move(*text);
  };
  sqlite::Transaction transaction(impl.db);

  const std::vector<std::array<std::string, 3>> codes = {
      {"EX", "Excused", "EXC"},   {"UX", "Unexcused", "UNE"}, {"PT", "Partial day", "UNE"},
      {"UV", "Unverified", "UNV"}, {"TD", "Tardy", "TDY"},     {"AC", "School activity", "ACT"}};
  for (const auto& [code, description, type] : codes) {
    impl.db.Prepare("INSERT OR REPLACE INTO absence_code VALUES (?, ?, ?)").Bind(1, code).Bind(2, description)
        .Bind(3, type).Run();
  }

  CsvSourceConfig calendar_config{"calendar", CsvKind::kCalendar, {}, DateFormat::kIso, {}};
  auto calendar = ParseCsvSnapshot(calendar_config, "calendar", "calendar.csv", read("calendar.csv"));
  if (!calendar) throw std::runtime_error(calendar.error().message);
  for (const auto& day : calendar->calendar_days) {
    impl.db.Prepare("INSERT OR REPLACE INTO calendar VALUES (?, ?, ?)").Bind(1, day.school_id)
        .Bind(2, day.date.ToString()).Bind(3, FormatDayUnits(day.instructional)).Run();
  }

  CsvSourceConfig enrollment_config{"enrollments", CsvKind::kEnrollments, {}, DateFormat::kIso, {}};
  auto enrollments = ParseCsvSnapshot(enrollment_config, "enrollments", "enrollments.csv", read("enrollments.csv"));
  if (!enrollments) throw std::runtime_error(enrollments.error().message);
  for (const auto& enrollment : enrollments->enrollments) {
    impl.db.Prepare("INSERT OR REPLACE INTO enrollment VALUES (?, ?, ?, ?, ?)").Bind(1, enrollment.student_id)
        .Bind(2, enrollment.school_id).Bind(3, enrollment.entry_date.ToString())
        .Bind(4, enrollment.exit_date ? enrollment.exit_date->ToString() : std::string())
        .Bind(5, enrollment.grade).Run();
  }

  // Ed-Fi categories become Synergy reason codes; the absent share goes to ABS_FTE.
  const std::map<std::string, std::pair<std::string, std::string>> by_category = {
      {"excused absence", {"EX", "1"}}, {"unexcused absence", {"UX", "1"}}, {"partial", {"PT", "0.5"}},
      {"tardy", {"TD", ""}}};
  for (const char* file : {"StudentSchoolAttendance.xml", "StudentSectionAttendance-Tardy.xml"}) {
    auto events = ParseEdFiXml(file, file, read(file));
    if (!events) throw std::runtime_error(events.error().message);
    for (const auto& event : events->events) {
      auto mapped = by_category.find(NormalizeCode(event.category));
      std::string code = mapped != by_category.end() ? mapped->second.first : event.category;
      std::string fte = mapped != by_category.end() ? mapped->second.second : "";
      if (event.duration && !fte.empty()) fte = FormatDayUnits(*event.duration);
      if (event.period.empty()) {
        impl.db.Prepare("INSERT OR REPLACE INTO daily_attendance VALUES (?, ?, ?, ?, ?, ?)").Bind(1, event.student_id)
            .Bind(2, event.school_id).Bind(3, event.date.ToString()).Bind(4, code).Bind(5, fte)
            .Bind(6, event.date.ToString()).Run();
      } else {
        impl.db.Prepare("INSERT OR REPLACE INTO period_attendance VALUES (?, ?, ?, ?, ?)").Bind(1, event.student_id)
            .Bind(2, event.school_id).Bind(3, event.date.ToString()).Bind(4, event.period).Bind(5, code).Run();
      }
    }
  }
  transaction.Commit();
}

void SynergySimulator::SetDailyAttendance(const std::string& student_id, const std::string& school_id,
                                          const std::string& date, const std::string& code, const std::string& fte) {
  std::lock_guard lock(impl_->mutex);
  impl_->db.Prepare("DELETE FROM daily_attendance WHERE student = ? AND date = ?").Bind(1, student_id).Bind(2, date).Run();
  impl_->db.Prepare("INSERT INTO daily_attendance VALUES (?, ?, ?, ?, ?, ?)").Bind(1, student_id).Bind(2, school_id)
      .Bind(3, date).Bind(4, code).Bind(5, fte).Bind(6, date).Run();
}

void SynergySimulator::DeleteDailyAttendance(const std::string& student_id, const std::string& date) {
  std::lock_guard lock(impl_->mutex);
  impl_->db.Prepare("DELETE FROM daily_attendance WHERE student = ? AND date = ?").Bind(1, student_id).Bind(2, date).Run();
}

void SynergySimulator::SetFaultPlan(FaultPlan plan) {
  std::lock_guard lock(impl_->mutex);
  impl_->random.seed(plan.seed);
  impl_->plan = std::move(plan);
}

void SynergySimulator::QueueFault(Fault fault, const std::string& method) {
  std::lock_guard lock(impl_->mutex);
  impl_->queued.emplace_back(fault, method);
}

std::vector<ImportRecord> SynergySimulator::Imports() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<ImportRecord> records;
  auto rows = impl_->db.Prepare("SELECT sequence, element, key, attributes FROM import ORDER BY sequence");
  while (rows.Step()) records.push_back({rows.Int(0), rows.Text(1), rows.Text(2), rows.Text(3)});
  return records;
}

int64_t SynergySimulator::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->request_count;
}

int64_t SynergySimulator::rejected_logins() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->rejected_login_count;
}

int64_t SynergySimulator::logins() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->login_count;
}

std::map<Fault, int64_t> SynergySimulator::faults_injected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->fault_counts;
}

}  // namespace tiersync::testing
