#include "daemon/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tiersync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string HttpRequest::Header(const std::string& lower_case_name) const {
  auto found = headers.find(lower_case_name);
  return found == headers.end() ? std::string() : found->second;
}

struct HttpServer::State {
  asio::io_context& io;
  HttpHandler handler;
  HttpServerLimits limits;
  tcp::acceptor acceptor;
  bool closed = false;

  State(asio::io_context& context, HttpHandler h, HttpServerLimits l)
      : io(context), handler(std::move(h)), limits(l), acceptor(context) {}
};

namespace {

// One connection: reads requests one at a time and writes each response before reading
// the next. Owns itself through shared_ptr copies held by pending operations.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}

  void Start() { ReadRequest(); }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->body_limit(state_->limits.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(state_->limits.read_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    if (error == http::error::end_of_stream || error == asio::error::operation_aborted) return Close();
    if (error == http::error::body_limit) {
      HttpResponse response;
      response.status = 413;
      response.body = "{\"error\":\"request body is larger than " + std::to_string(state_->limits.max_body_bytes) +
                      " bytes; split the batch or raise service.push.max_body_bytes\"}\n";
      keep_alive_ = false;
      return Write(std::move(response));
    }
    if (error) {
      // A client that disconnects or times out is routine, so there is no response to send.
      spdlog::debug("HTTP connection closed while reading a request: {}", error.message());
      return Close();
    }

    auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    std::string target(message.target());
    auto question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) request.query = target.substr(question + 1);
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(message.body());
    keep_alive_ = message.keep_alive();

    auto self = shared_from_this();
    HttpRespond respond = [self](HttpResponse response) {
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response)]() mutable { self->Write(std::move(response)); });
    };
    state_->handler(std::move(request), std::move(respond));
  }

  void Write(HttpResponse response) {
    auto message = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "tiersync");
    message->set(http::field::content_type, response.content_type);
    message->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->keep_alive(keep_alive_);
    message->body() = std::move(response.body);
    message->prepare_payload();

    stream_.expires_after(std::chrono::seconds(state_->limits.write_timeout_seconds));
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code error, size_t) {
                        if (error) {
                          spdlog::debug("HTTP response not sent: {}", error.message());
                          return self->Close();
                        }
                        if (!self->keep_alive_ || self->state_->closed) return self->Close();
                        self->ReadRequest();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpServer::State> state_;
  bool keep_alive_ = false;
};

// NOTE: the number of open connections is not limited. The listener is meant for loopback
// and a district's own ETL; a reverse proxy in front is the place for connection limits.
void Accept(std::shared_ptr<HttpServer::State> state) {
  state->acceptor.async_accept(state->io, [state](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || state->closed) return;
    if (error) {
      // Running out of file descriptors is the usual cause; keep accepting after it.
      spdlog::warn("accepting an HTTP connection failed: {}; still accepting", error.message());
    } else {
      std::make_shared<Session>(std::move(socket), state)->Start();
    }
    Accept(state);
  });
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, HttpHandler handler, HttpServerLimits limits)
    : state_(std::make_shared<State>(io, std::move(handler), limits)) {}

HttpServer::~HttpServer() { Close(); }

Result<int> HttpServer::Listen(const std::string& address, int port) {
  beast::error_code error;
  auto ip = asio::ip::make_address(address, error);
  if (error) return Error{"listen address '" + address + "' is invalid: " + error.message()};
  tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  std::string where = address + ":" + std::to_string(port);

  state_->acceptor.open(endpoint.protocol(), error);
  if (!error) state_->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) state_->acceptor.bind(endpoint, error);
  if (!error) state_->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return Error{"cannot listen on " + where + ": " + error.message() +
                 "; choose a free port in service.port or stop the other process"};
  }
  int bound = state_->acceptor.local_endpoint().port();
  Accept(state_);
  return bound;
}

void HttpServer::Close() {
  if (state_->closed) return;
  state_->closed = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
}

}  // namespace tiersync
