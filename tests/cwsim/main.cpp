// cwsim's executable: the HTTPS front of the simulator and its only Asio/Beast
// translation unit. It parses the command line, builds a TLS 1.2+ server context
// (generated CA + certificate, or the given PEMs), listens, publishes the bound port,
// and serves each connection with one coroutine on a single-threaded io_context: HTTP/1.1
// keep-alive, per-read deadlines, 1 MiB body limit. Each request goes to
// cwsim::simulator::handle; this file carries out the answer's delay and disposition
// (respond, drop, reset, hang). SIGINT/SIGTERM stop the server with exit status 0.
#include <array>
#include <chrono>
#include <csignal>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "cli.hpp"
#include "sim.hpp"
#include "tls_cert.hpp"

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t body_limit = 1024 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(10);
constexpr auto read_timeout = std::chrono::seconds(60);  // each read, including keep-alive idle time
constexpr auto write_timeout = std::chrono::seconds(30);
constexpr auto hang_limit = std::chrono::seconds(120);
constexpr auto tls_shutdown_timeout = std::chrono::seconds(2);

constexpr auto callback_timeout = std::chrono::seconds(5);  // per delivery attempt, connect to answer

struct server {
  cwsim::simulator sim;
  ssl::context tls;
  ssl::context callback_tls;  // client side, for https callback receivers
  bool verbose;
};

void log_line(const std::string& line) { std::cerr << "cwsim: " << line << std::endl; }

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ssl::context make_tls_context(const cwsim::options& o) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("cannot require TLS 1.2");
  if (!o.cert_file.empty()) {
    ctx.use_certificate_chain(net::buffer(read_text_file(o.cert_file)));
    ctx.use_private_key(net::buffer(read_text_file(o.key_file)), ssl::context::pem);
  } else {
    const cwsim::tls_material m = cwsim::generate_tls_material();
    std::filesystem::create_directories(o.tls_dir);
    cwsim::write_file_atomic((std::filesystem::path(o.tls_dir) / "ca.pem").string(), m.ca_cert_pem);
    ctx.use_certificate_chain(net::buffer(m.server_cert_pem));
    ctx.use_private_key(net::buffer(m.server_key_pem), ssl::context::pem);
  }
  return ctx;
}

ssl::context make_callback_tls_context(const cwsim::options& o) {
  ssl::context ctx(ssl::context::tls_client);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("cannot require TLS 1.2");
  if (!o.callback_ca.empty())
    ctx.load_verify_file(o.callback_ca);
  else
    ctx.set_default_verify_paths();
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

cwsim::sim_request to_sim_request(http::request<http::string_body>& req) {
  cwsim::sim_request s;
  s.method = std::string(req.method_string());
  s.target = std::string(req.target());
  for (const auto& field : req) {
    const std::string value(field.value());
    const auto [it, inserted] = s.headers.emplace(std::string(field.name_string()), value);
    if (!inserted) it->second += ", " + value;
  }
  s.body = std::move(req.body());
  return s;
}

std::string_view disposition_name(cwsim::sim_response::disposition d) {
  using disposition = cwsim::sim_response::disposition;
  switch (d) {
    case disposition::respond: return "respond";
    case disposition::drop_after_processing: return "commit-drop";
    case disposition::reset_before_processing: return "reset";
    case disposition::hang: return "hang";
  }
  return "?";
}

// Holds the connection without answering until the peer closes it or hang_limit passes;
// whatever the peer sends meanwhile is discarded.
net::awaitable<void> hang(beast::tcp_stream& tcp_layer) {
  tcp_layer.expires_after(hang_limit);
  std::array<char, 4096> sink{};
  beast::error_code ec;
  while (!ec) co_await tcp_layer.async_read_some(net::buffer(sink), net::redirect_error(net::use_awaitable, ec));
}

// A plain error answer for requests that never reach the simulator (unparseable HTTP).
net::awaitable<void> send_transport_error(tls_stream& stream, http::status status, std::string_view text) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "cwsim");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::string(text) + "\n";
  res.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  beast::error_code ec;
  co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
}

// ---- callback deliveries (README "Callbacks")

struct attempt_result {
  int status = 0;     // HTTP status, 0 when no answer arrived
  std::string error;  // transport error, "" when an answer arrived
};

attempt_result failed(std::string what, const beast::error_code& ec) {
  attempt_result r;
  r.error = std::move(what) + ": " + ec.message();
  return r;
}

// Writes the POST and reads the answer on a connected (and, for https, handshaken) stream.
template <class Stream>
net::awaitable<attempt_result> exchange(Stream& stream, const cwsim::http_url& url, const cwsim::callback_delivery& d) {
  http::request<http::string_body> req(http::verb::post, url.target, 11);
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? 443 : 80)) host += ":" + std::to_string(url.port);
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "cwsim-callback");
  for (const auto& [name, value] : d.headers) req.set(name, value);
  req.body() = d.body;
  req.keep_alive(false);
  req.prepare_payload();
  beast::error_code ec;
  co_await http::async_write(stream, req, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return failed("write", ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(stream, buffer, res, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return failed("read", ec);
  attempt_result r;
  r.status = static_cast<int>(res.result_int());
  co_return r;
}

// One attempt: resolve, connect, TLS for https (verified against --callback-ca or the
// system store, host name or IP checked), POST, read the answer; 5 s in all.
net::awaitable<attempt_result> post_once(server& srv, const cwsim::http_url& url, const cwsim::callback_delivery& d) {
  const auto executor = co_await net::this_coro::executor;
  beast::error_code ec;
  tcp::resolver resolver(executor);
  const auto endpoints =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return failed("resolve", ec);
  if (!url.tls) {
    beast::tcp_stream stream(executor);
    stream.expires_after(callback_timeout);
    co_await stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return failed("connect", ec);
    attempt_result r = co_await exchange(stream, url, d);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return r;
  }
  tls_stream stream(executor, srv.callback_tls);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(callback_timeout);
  co_await tcp_layer.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return failed("connect", ec);
  SSL* ssl_handle = stream.native_handle();
  beast::error_code not_ip;
  net::ip::make_address(url.host, not_ip);
  if (not_ip) {
    SSL_set_tlsext_host_name(ssl_handle, url.host.c_str());
    SSL_set1_host(ssl_handle, url.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url.host.c_str());
  }
  co_await stream.async_handshake(ssl::stream_base::client, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return failed("TLS handshake", ec);
  attempt_result r = co_await exchange(stream, url, d);
  co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  co_return r;
}

// Sends one delivery with ConnectWise's retry rule: a 404/409/419/429 answer is retried
// twice (after 2 s, then 4 s more); any 2xx is success; anything else (including a
// connection failure) is final. Every attempt is reported to the simulator's log.
net::awaitable<void> deliver(server& srv, cwsim::callback_delivery d) {
  const auto executor = co_await net::this_coro::executor;
  beast::error_code ec;
  if (d.delay.count() > 0) {
    net::steady_timer timer(executor, d.delay);
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
  const auto url = cwsim::parse_http_url(d.url);
  if (!url) {
    srv.sim.record_delivery_attempt(d.id, 0, "not an http(s) URL", true);
    co_return;
  }
  const std::chrono::seconds waits[] = {std::chrono::seconds(2), std::chrono::seconds(4)};
  for (std::size_t attempt = 0;; ++attempt) {
    const attempt_result r = co_await post_once(srv, *url, d);
    const bool retry = attempt < 2 && (r.status == 404 || r.status == 409 || r.status == 419 || r.status == 429);
    srv.sim.record_delivery_attempt(d.id, r.status, r.error, !retry);
    if (srv.verbose)
      log_line("callback " + std::to_string(d.id) + " -> " + d.url + ": " +
               (r.error.empty() ? std::to_string(r.status) : r.error) + (retry ? ", will retry" : ""));
    if (!retry) co_return;
    net::steady_timer timer(executor, waits[attempt]);
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

void report_exception(std::exception_ptr e);

// Serves one TLS connection until the peer closes it, a deadline passes, a fault
// disposition ends it, or the response says Connection: close.
net::awaitable<void> serve_connection(tls_stream stream, server& srv) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  beast::error_code ec;
  tcp_layer.expires_after(handshake_timeout);
  co_await stream.async_handshake(ssl::stream_base::server, net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    if (srv.verbose) log_line("TLS handshake failed: " + ec.message());
    co_return;
  }

  bool close_gracefully = true;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    tcp_layer.expires_after(read_timeout);
    co_await http::async_read_header(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      tcp_layer.expires_after(write_timeout);
      co_await http::async_write(stream, go_on, net::redirect_error(net::use_awaitable, ec));
    }
    if (!ec) {
      tcp_layer.expires_after(read_timeout);
      co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
    }
    if (ec == http::error::body_limit) {
      co_await send_transport_error(stream, http::status::payload_too_large, "request body exceeds 1 MiB");
      break;
    }
    if (ec == http::error::header_limit) {
      co_await send_transport_error(stream, http::status::request_header_fields_too_large, "request header too large");
      break;
    }
    if (ec == http::error::end_of_stream) break;
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::partial_message) {
      co_await send_transport_error(stream, http::status::bad_request, "malformed HTTP request: " + ec.message());
      break;
    }
    if (ec) {
      close_gracefully = false;  // timeout, reset or broken TLS: nobody to say goodbye to
      break;
    }

    http::request<http::string_body> req = parser.release();
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const cwsim::sim_request sreq = to_sim_request(req);
    const cwsim::sim_response sres = srv.sim.handle(sreq);
    // Callbacks go out on their own, never delaying (or waiting for) this answer.
    for (const auto& delivery : sres.deliveries)
      net::co_spawn(co_await net::this_coro::executor, deliver(srv, delivery), report_exception);
    if (srv.verbose) {
      using disposition = cwsim::sim_response::disposition;
      log_line(sreq.method + " " + sreq.target + " -> " +
               (sres.action == disposition::respond ? std::to_string(sres.status)
                                                    : std::string(disposition_name(sres.action))) +
               (sres.delay.count() > 0 ? " after " + std::to_string(sres.delay.count()) + " ms" : ""));
    }

    if (sres.delay.count() > 0) {
      net::steady_timer timer(co_await net::this_coro::executor, sres.delay);
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    switch (sres.action) {
      case cwsim::sim_response::disposition::respond: break;
      case cwsim::sim_response::disposition::drop_after_processing: tcp_layer.socket().close(ec); co_return;
      case cwsim::sim_response::disposition::reset_before_processing:
        tcp_layer.socket().set_option(net::socket_base::linger(true, 0), ec);
        tcp_layer.socket().close(ec);
        co_return;
      case cwsim::sim_response::disposition::hang:
        co_await hang(tcp_layer);
        tcp_layer.socket().close(ec);
        co_return;
    }

    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(sres.status));
    res.set(http::field::server, "cwsim");
    for (const auto& [name, value] : sres.headers) res.set(name, value);
    res.body() = sres.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    tcp_layer.expires_after(write_timeout);
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      close_gracefully = false;
      break;
    }
    if (!keep_alive) break;
  }

  if (close_gracefully) {
    tcp_layer.expires_after(tls_shutdown_timeout);
    co_await stream.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  }
  tcp_layer.socket().close(ec);
}

void report_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    log_line(std::string("connection failed: ") + x.what());
  }
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, server& srv) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Typically EMFILE: back off briefly instead of spinning.
      log_line("accept failed: " + ec.message());
      net::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(acceptor.get_executor(), serve_connection(tls_stream(std::move(socket), srv.tls), srv),
                  report_exception);
  }
}

int run(const cwsim::options& o) {
  server srv{cwsim::simulator(cwsim::load_seed_file(o.seed_file), o.faults, o.fault_seed), make_tls_context(o),
             make_callback_tls_context(o), o.verbose};

  net::io_context ioc(1);
  const tcp::endpoint endpoint(net::ip::make_address(o.listen_host), o.listen_port);
  tcp::acceptor acceptor(ioc);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint();

  // Armed before the port is published, so a test may signal as soon as it sees it.
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code& ec, int signal_number) {
    if (ec) return;
    if (srv.verbose) log_line("signal " + std::to_string(signal_number) + ", stopping");
    beast::error_code ignored;
    acceptor.close(ignored);
    ioc.stop();
  });
  net::co_spawn(ioc, accept_loop(acceptor, srv), report_exception);

  if (!o.port_file.empty()) cwsim::write_file_atomic(o.port_file, std::to_string(bound.port()) + "\n");
  const std::string host =
      bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  std::cerr << "cwsim listening on https://" << host << ":" << bound.port() << std::endl;

  ioc.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  cwsim::options options;
  try {
    options = cwsim::parse_cli(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cwsim::usage_error& e) {
    std::cerr << "cwsim: " << e.what() << "\n\n" << cwsim::usage();
    return 2;
  }
  if (options.help) {
    std::cout << cwsim::usage();
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "cwsim: error: " << e.what() << std::endl;
    return 1;
  }
}
