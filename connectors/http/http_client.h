#pragma once

// A blocking HTTP/1.1 client on Boost.Beast with TLS through OpenSSL. One client keeps one
// keep-alive connection to one server and reconnects when the server closes it. Every
// network step (resolve, connect, TLS handshake, write, read) has its own deadline.
//
// A client belongs to one thread at a time. Beast and Asio stay inside http_client.cc, so
// including this header costs no Asio compile time.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/expected.h"

namespace tiersync::http {

struct TlsSettings {
  // Verify the server's certificate chain and that it names the host in the URL. Turning
  // this off lets anyone on the network path read and change the traffic.
  bool verify = true;
  // PEM file of trusted certificate authorities; empty uses the system's default store.
  std::string ca_file;
};

struct ClientSettings {
  std::string url;  // http://host[:port][/prefix] or https://host[:port][/prefix]
  std::chrono::milliseconds connect_timeout{10000};  // resolve + connect + TLS handshake
  std::chrono::milliseconds request_timeout{60000};  // write the request, then read the response
  TlsSettings tls;
  size_t max_response_bytes = 512u << 20;
};

struct Request {
  std::string target;  // path below the URL's prefix, e.g. "/Service/RTCommunication.asmx"
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Values of every header named `name` (compared without case), in order.
  std::vector<std::string> HeaderValues(const std::string& name) const;
};

enum class FailureKind {
  kInvalidUrl,     // the configured URL cannot be used
  kConnect,        // name resolution or TCP connect failed; nothing was sent
  kTlsVerify,      // the server's certificate is untrusted or names another host
  kTls,            // the TLS handshake failed for another reason
  kTimeout,        // a deadline passed
  kTransport,      // the connection broke or the response was malformed or cut short
};

const char* FailureKindName(FailureKind kind);

struct Failure {
  FailureKind kind = FailureKind::kTransport;
  // True once the whole request was handed to the connection: the server may have acted
  // on it even though no complete response came back.
  bool request_sent = false;
  std::string message;
};

using HttpResult = Expected<Response, Failure>;

// The transport seam: the Synergy client talks to this, so tests can put a fake in.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual HttpResult Send(const Request& request) = 0;
  // Closes the connection; the next Send opens a new one.
  virtual void Close() = 0;
  // "https://host:port" for log lines.
  virtual const std::string& display_url() const = 0;
};

class HttpClient : public Transport {
 public:
  explicit HttpClient(ClientSettings settings);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Send(const Request& request) override;
  void Close() override;
  const std::string& display_url() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiersync::http
