#pragma once

// A small HTTP/1.1 server on Boost.Beast for the admin and push endpoints. It runs on the
// io_context passed to the constructor and calls the handler there. The handler may send
// its response later, from any thread, through the `respond` callback. Beast stays inside
// http_server.cc.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace tiersync {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target without the query
  std::string query;   // after '?', without it
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string Header(const std::string& lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest, HttpRespond)>;

struct HttpServerLimits {
  size_t max_body_bytes = 16 * 1024 * 1024;
  int read_timeout_seconds = 30;   // for the whole request, headers and body
  int write_timeout_seconds = 30;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpHandler handler, HttpServerLimits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Returns the bound port (useful with port 0).
  Result<int> Listen(const std::string& address, int port);

  // Stops accepting. Requests already read still get their responses while the io_context runs.
  void Close();

  // Shared with the connections; defined in http_server.cc.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tiersync
