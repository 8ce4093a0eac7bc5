#include "connectors/http/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <optional>
#include <strings.h>

namespace tiersync::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

const char* FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kInvalidUrl:
      return "invalid URL";
    case FailureKind::kConnect:
      return "connect failed";
    case FailureKind::kTlsVerify:
      return "certificate rejected";
    case FailureKind::kTls:
      return "TLS handshake failed";
    case FailureKind::kTimeout:
      return "timed out";
    case FailureKind::kTransport:
      break;
  }
  return "connection failed";
}

std::vector<std::string> Response::HeaderValues(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (strcasecmp(key.c_str(), name.c_str()) == 0) values.push_back(value);
  }
  return values;
}

struct HttpClient::Impl {
  ClientSettings settings;
  std::string display_url;
  std::string url_error;  // set when the URL cannot be used
  bool secure = false;
  std::string host;
  std::string port;
  std::string prefix;  // path prefix without a trailing slash

  asio::io_context io;
  std::optional<ssl::context> tls;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> encrypted;
  beast::flat_buffer buffer;
  bool connected = false;

  explicit Impl(ClientSettings client_settings) : settings(std::move(client_settings)) {
    display_url = settings.url;
    auto parsed = boost::urls::parse_uri(settings.url);
    if (!parsed) {
      url_error = "'" + settings.url + "' is not a URL; give it as https://host[:port]";
      return;
    }
    std::string scheme = std::string(parsed->scheme());
    if (scheme != "http" && scheme != "https") {
      url_error = "'" + settings.url + "' has scheme '" + scheme + "'; use https (or http for a test server)";
      return;
    }
    secure = scheme == "https";
    host = std::string(parsed->host_address());
    if (host.empty()) {
      url_error = "'" + settings.url + "' names no host";
      return;
    }
    port = parsed->has_port() ? std::string(parsed->port()) : (secure ? "443" : "80");
    prefix = std::string(parsed->path());
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    display_url = scheme + "://" + host + ":" + port + prefix;

    if (secure) {
      tls.emplace(ssl::context::tls_client);
      tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      error_code error;
      if (!settings.tls.ca_file.empty()) {
        tls->load_verify_file(settings.tls.ca_file, error);
        if (error) url_error = "cannot load CA file " + settings.tls.ca_file + ": " + error.message();
      } else {
        tls->set_default_verify_paths(error);
        if (error) url_error = "cannot load the system's trusted certificates: " + error.message();
      }
      if (settings.tls.verify) {
        tls->set_verify_mode(ssl::verify_peer);  // the host name check is set per connection
      } else {
        tls->set_verify_mode(ssl::verify_none);
      }
    }
  }

  beast::tcp_stream& Tcp() { return encrypted ? encrypted->next_layer() : *plain; }

  // Runs the event loop until every started operation has completed.
  void RunLoop() {
    io.restart();
    io.run();
  }

  void Close() {
    if (encrypted) {
      error_code ignored;
      encrypted->next_layer().socket().close(ignored);  // no TLS close_notify: it could block
    }
    if (plain) plain->close();
    encrypted.reset();
    plain.reset();
    buffer.clear();
    connected = false;
  }

  std::optional<Failure> Connect() {
    Close();
    // Resolve with a deadline: the timer cancels the resolver when it fires first.
    tcp::resolver resolver(io);
    asio::steady_timer timer(io, settings.connect_timeout);
    error_code resolve_error;
    tcp::resolver::results_type endpoints;
    bool timed_out = false;
    resolver.async_resolve(host, port, [&](error_code error, tcp::resolver::results_type results) {
      resolve_error = error;
      endpoints = std::move(results);
      timer.cancel();
    });
    timer.async_wait([&](error_code error) {
      if (!error) {
        timed_out = true;
        resolver.cancel();
      }
    });
    RunLoop();
    if (timed_out) return Failure{FailureKind::kTimeout, false, "resolving " + host + " timed out"};
    if (resolve_error) {
      return Failure{FailureKind::kConnect, false, "cannot resolve " + host + ": " + resolve_error.message()};
    }

    if (secure) {
      encrypted = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *tls);
    } else {
      plain = std::make_unique<beast::tcp_stream>(io);
    }
    error_code connect_error;
    Tcp().expires_after(settings.connect_timeout);
    Tcp().async_connect(endpoints, [&](error_code error, const tcp::endpoint&) { connect_error = error; });
    RunLoop();
    if (connect_error == beast::error::timeout) {
      Close();
      return Failure{FailureKind::kTimeout, false, "connecting to " + display_url + " timed out"};
    }
    if (connect_error) {
      Close();
      return Failure{FailureKind::kConnect, false, "cannot connect to " + display_url + ": " + connect_error.message()};
    }

    if (secure) {
      // Server Name Indication, so a server with several certificates picks this host's
      // (RFC 6066 allows only names there, not addresses).
      error_code not_an_address;
      asio::ip::make_address(host, not_an_address);
      if (not_an_address && !SSL_set_tlsext_host_name(encrypted->native_handle(), host.c_str())) {
        Close();
        return Failure{FailureKind::kTls, false, "cannot set the TLS server name " + host};
      }
      if (settings.tls.verify) {
        // OpenSSL checks the name during verification, so a mismatch has its own error code.
        X509_VERIFY_PARAM* parameters = SSL_get0_param(encrypted->native_handle());
        error_code not_an_address;
        asio::ip::make_address(host, not_an_address);
        int set = not_an_address ? X509_VERIFY_PARAM_set1_host(parameters, host.c_str(), host.size())
                                 : X509_VERIFY_PARAM_set1_ip_asc(parameters, host.c_str());
        if (set != 1) {
          Close();
          return Failure{FailureKind::kTls, false, "cannot set the expected certificate name " + host};
        }
        X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      }
      error_code handshake_error;
      Tcp().expires_after(settings.connect_timeout);
      encrypted->async_handshake(ssl::stream_base::client, [&](error_code error) { handshake_error = error; });
      RunLoop();
      if (handshake_error) {
        long verify_result = SSL_get_verify_result(encrypted->native_handle());
        Close();
        if (handshake_error == beast::error::timeout) {
          return Failure{FailureKind::kTimeout, false, "TLS handshake with " + display_url + " timed out"};
        }
        if (settings.tls.verify && verify_result != X509_V_OK) {
          bool name_mismatch = verify_result == X509_V_ERR_HOSTNAME_MISMATCH ||
                               verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH;
          std::string hint = name_mismatch
                                 ? "; the certificate was issued for another host name, so check the host in the URL"
                                 : "; check the server's certificate chain and the CA file (tls.ca_file)";
          return Failure{FailureKind::kTlsVerify, false,
                         "certificate of " + display_url + " rejected: " +
                             X509_verify_cert_error_string(verify_result) + hint};
        }
        return Failure{FailureKind::kTls, false,
                       "TLS handshake with " + display_url + " failed: " + handshake_error.message()};
      }
    }
    connected = true;
    return std::nullopt;
  }

  // Writes the request; returns the error, if any.
  error_code Write(beast::http::request<beast::http::string_body>& request) {
    error_code write_error;
    Tcp().expires_after(settings.request_timeout);
    auto done = [&](error_code error, size_t) { write_error = error; };
    if (encrypted) {
      beast::http::async_write(*encrypted, request, done);
    } else {
      beast::http::async_write(*plain, request, done);
    }
    RunLoop();
    return write_error;
  }

  error_code Read(beast::http::response_parser<beast::http::string_body>& parser) {
    error_code read_error;
    Tcp().expires_after(settings.request_timeout);
    auto done = [&](error_code error, size_t) { read_error = error; };
    if (encrypted) {
      beast::http::async_read(*encrypted, buffer, parser, done);
    } else {
      beast::http::async_read(*plain, buffer, parser, done);
    }
    RunLoop();
    return read_error;
  }

  HttpResult Send(const Request& request) {
    if (!url_error.empty()) return Failure{FailureKind::kInvalidUrl, false, url_error};

    beast::http::request<beast::http::string_body> message{beast::http::verb::post, prefix + request.target, 11};
    message.set(beast::http::field::host, host);
    message.set(beast::http::field::user_agent, "tiersync");
    message.set(beast::http::field::content_type, request.content_type);
    for (const auto& [name, value] : request.headers) message.set(name, value);
    message.keep_alive(true);
    message.body() = request.body;
    message.prepare_payload();

    // The server may have closed a kept-alive connection while it was idle. A write that
    // fails on it sent nothing, so one fresh connection is tried.
    bool reused = connected;
    if (!connected) {
      if (auto failure = Connect()) return *failure;
    }
    error_code write_error = Write(message);
    if (write_error && reused && write_error != beast::error::timeout) {
      if (auto failure = Connect()) return *failure;
      write_error = Write(message);
    }
    if (write_error) {
      Close();
      if (write_error == beast::error::timeout) {
        return Failure{FailureKind::kTimeout, false, "sending to " + display_url + " timed out"};
      }
      return Failure{FailureKind::kTransport, false, "sending to " + display_url + " failed: " + write_error.message()};
    }

    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(settings.max_response_bytes);
    error_code read_error = Read(parser);
    if (read_error) {
      Close();
      if (read_error == beast::error::timeout) {
        return Failure{FailureKind::kTimeout, true,
                       "no response from " + display_url + " within " +
                           std::to_string(settings.request_timeout.count()) + " ms after sending"};
      }
      return Failure{FailureKind::kTransport, true,
                     "reading the response from " + display_url + " failed after sending: " + read_error.message()};
    }

    auto& received = parser.get();
    Response response;
    response.status = static_cast<int>(received.result_int());
    for (const auto& field : received) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(received.body());
    if (!received.keep_alive()) Close();
    return response;
  }
};

HttpClient::HttpClient(ClientSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Send(const Request& request) { return impl_->Send(request); }
void HttpClient::Close() { impl_->Close(); }
const std::string& HttpClient::display_url() const { return impl_->display_url; }

}  // namespace tiersync::http
