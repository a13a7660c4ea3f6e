#include "psa/https_client.hpp"

#include "psa/cw_codec.hpp"

#include <openssl/ssl.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/version.hpp>

#include <stdexcept>

namespace ts::psa {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
}

struct https_client::connection {
  explicit connection(net::any_io_executor ex, ssl::context& ctx) : stream(ex, ctx) {}
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point last_used{};
};

std::string transport_failure::to_string() const {
  std::string s = stage + ": " + ec.message();
  if (maybe_sent) s += " (request may have been received)";
  return s;
}

ssl::context make_tls_context(const std::string& ca_file) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  ctx.set_default_verify_paths();
  if (!ca_file.empty()) {
    boost::system::error_code ec;
    ctx.load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("cannot load CA file '" + ca_file + "': " + ec.message());
  }
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

https_client::https_client(net::any_io_executor ex, client_options opts, const ts::clock& clk)
    : ex_(std::move(ex)), opts_(std::move(opts)), clock_(clk), tls_(make_tls_context(opts_.ca_file)) {}

https_client::~https_client() = default;

void https_client::close_idle() { idle_.clear(); }

void https_client::set_options(const client_options& opts) {
  opts_.connect_timeout = opts.connect_timeout;
  opts_.handshake_timeout = opts.handshake_timeout;
  opts_.request_timeout = opts.request_timeout;
  opts_.max_response_bytes = opts.max_response_bytes;
  opts_.idle_timeout = opts.idle_timeout;
}

net::awaitable<boost::system::result<std::unique_ptr<https_client::connection>, transport_failure>>
https_client::open() {
  tcp::resolver resolver(ex_);
  auto conn = std::make_unique<connection>(ex_, tls_);
  auto& tcp_layer = beast::get_lowest_layer(conn->stream);

  // DNS has no deadline of its own in Asio; the connect deadline bounds both
  // by closing the stream, and a stuck resolver is cancelled by the timer below.
  net::steady_timer resolve_deadline(ex_);
  resolve_deadline.expires_after(opts_.connect_timeout);
  resolve_deadline.async_wait([&resolver](boost::system::error_code ec) {
    if (!ec) resolver.cancel();
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(opts_.host, opts_.port, use_tuple);
  resolve_deadline.cancel();
  if (rec) co_return transport_failure{rec, "resolve", false};

  tcp_layer.expires_after(opts_.connect_timeout);
  auto [cec, ep] = co_await tcp_layer.async_connect(endpoints, use_tuple);
  if (cec) co_return transport_failure{cec, "connect", false};
  tcp_layer.socket().set_option(tcp::no_delay(true));

  // SNI only for names; host-name verification also checks IP SANs for addresses.
  boost::system::error_code addr_ec;
  net::ip::make_address(opts_.host, addr_ec);
  if (addr_ec && !SSL_set_tlsext_host_name(conn->stream.native_handle(), opts_.host.c_str()))
    co_return transport_failure{
        boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()), "handshake",
        false};
  conn->stream.set_verify_callback(ssl::host_name_verification(opts_.host));

  tcp_layer.expires_after(opts_.handshake_timeout);
  auto [hec] = co_await conn->stream.async_handshake(ssl::stream_base::client, use_tuple);
  if (hec) co_return transport_failure{hec, "handshake", false};
  ++opened_;
  co_return std::move(conn);
}

net::awaitable<https_client::send_result> https_client::send(http_request req) {
  std::unique_ptr<connection> conn;
  const auto now = clock_.steady_now();
  while (!idle_.empty() && !conn) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (now - c->last_used < opts_.idle_timeout) conn = std::move(c);
  }
  if (!conn) {
    auto opened = co_await open();
    if (!opened) co_return opened.error();
    conn = std::move(*opened);
  }

  http::request<http::string_body> msg{req.method, req.target, 11};
  msg.set(http::field::host, host_header(opts_.host, opts_.port));
  msg.set(http::field::user_agent, "ticketsyncd/0.1");
  for (auto& [k, v] : req.headers) msg.set(k, v);
  if (!req.body.empty()) {
    msg.set(http::field::content_type, "application/json");
    msg.body() = std::move(req.body);
  }
  msg.keep_alive(true);
  msg.prepare_payload();

  auto& tcp_layer = beast::get_lowest_layer(conn->stream);
  tcp_layer.expires_after(opts_.request_timeout);
  auto [wec, written] = co_await http::async_write(conn->stream, msg, use_tuple);
  (void)written;
  // Any write error after the connection was up may have delivered the request.
  if (wec) co_return transport_failure{wec, "write", true};

  http::response_parser<http::string_body> parser;
  parser.body_limit(opts_.max_response_bytes);
  auto [rec, read] = co_await http::async_read(conn->stream, conn->buffer, parser, use_tuple);
  (void)read;
  if (rec) co_return transport_failure{rec, "read", true};

  auto res = parser.release();
  http_response out;
  out.status = res.result_int();
  out.retry_after = std::string(res[http::field::retry_after]);
  out.link = std::string(res[http::field::link]);
  out.date = std::string(res[http::field::date]);
  const bool keep = res.keep_alive();
  out.body = std::move(res.body());
  if (keep) {
    tcp_layer.expires_never();
    conn->last_used = clock_.steady_now();
    idle_.push_back(std::move(conn));
  }
  co_return out;
}

}  // namespace ts::psa

namespace boost::system {
void throw_exception_from_error(const ts::psa::transport_failure& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.to_string()), loc);
}
}  // namespace boost::system
