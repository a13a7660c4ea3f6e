#include "ops/admin_server.hpp"

#include "sync/timer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>

namespace ts::ops {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;
namespace ssl = net::ssl;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t header_limit = std::size_t{16} * 1024;
constexpr auto handshake_deadline = std::chrono::seconds{10};

std::optional<tcp::endpoint> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  unsigned port = 0;
  try {
    port = static_cast<unsigned>(std::stoul(listen.substr(colon + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (port > 65535) return std::nullopt;
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

}  // namespace

struct admin_server::impl : std::enable_shared_from_this<impl> {
  impl(net::any_io_executor ex, const config::admin_config& c, admin_handler h, spdlog::logger& l,
       sync::timer_source& timers, std::string section = "admin")
      : ex(ex),
        cfg(c),
        section(std::move(section)),
        handler(std::move(h)),
        log(l),
        timers(timers),
        slot_free(ex, timers) {}

  net::any_io_executor ex;
  config::admin_config cfg;           // the limits, fixed at start
  std::string section;                // "admin" or "public", for messages
  std::shared_ptr<ssl::context> tls;  // the public listener's certificate (swapped at reload)
  std::optional<client_rate_limit> rate;
  admin_handler handler;
  spdlog::logger& log;
  sync::timer_source& timers;
  std::optional<tcp::acceptor> tcp_acceptor;
  std::optional<local::acceptor> unix_acceptor;
  std::string socket_path;  // the file we created (removed at stop)
  sync::wakeup slot_free;
  std::size_t active = 0;
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, std::function<void()>> closers;  // open connections
  bool stopping = false;

  template <class Stream>
  net::awaitable<void> serve(Stream stream, bool over_tcp, std::string peer,
                             std::shared_ptr<ssl::context> context = nullptr);
  template <class Acceptor, class Stream>
  net::awaitable<void> accept_loop(Acceptor& acceptor, bool over_tcp);
  void open_unix();
  void open_tcp();
};

template <class Stream>
net::awaitable<void> admin_server::impl::serve(Stream stream, bool over_tcp, std::string peer,
                                               std::shared_ptr<ssl::context> context) {
  auto self = shared_from_this();
  (void)context;  // kept alive for the connection's TLS stream
  constexpr bool is_tls =
      !std::is_same_v<Stream, beast::basic_stream<tcp>> && !std::is_same_v<Stream, beast::basic_stream<local>>;
  const std::uint64_t id = next_id++;
  bool waiting = true;  // for a request (idle): stop() may cut it; a request being handled finishes
  closers[id] = [&stream, &waiting] {
    if (!waiting) return;
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(net::socket_base::shutdown_both, ignored);
    beast::get_lowest_layer(stream).cancel();
  };
  struct release {
    impl& s;
    std::uint64_t id;
    ~release() {
      s.closers.erase(id);
      --s.active;
      s.slot_free.notify();
    }
  } guard{*this, id};

  if constexpr (is_tls) {
    beast::get_lowest_layer(stream).expires_after(handshake_deadline);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (hec) {
      log.debug("{}.tls_handshake_failed peer={} error=\"{}\"", section, peer, hec.message());
      co_return;
    }
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(cfg.max_body_bytes);
    beast::get_lowest_layer(stream).expires_after(request_deadline);
    waiting = true;
    if (stopping) break;
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    (void)n;
    waiting = false;
    std::optional<admin_reply> early;  // answered without the handler, then the connection closes
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      break;
    } else if (ec == http::error::body_limit) {
      early = json_error(413, "request body larger than " + section + ".max_body_size (" +
                                  std::to_string(cfg.max_body_bytes) + " bytes)");
    } else if (ec == http::error::header_limit) {
      early = json_error(431, "request headers too large");
    } else if (ec) {
      early = json_error(400, "malformed HTTP request: " + ec.message());
    } else if (rate && !rate->allow(peer.substr(0, peer.rfind(':')), timers.clk().steady_now())) {
      early = json_error(429, "too many requests from this address (" + section + ".requests_per_second)");
      early->headers.emplace_back("Retry-After", "1");
    }

    admin_reply reply;
    bool keep_alive = false;
    bool head = false;
    unsigned version = 11;
    if (early) {
      reply = std::move(*early);
    } else {
      auto req = parser.release();
      keep_alive = req.keep_alive() && !stopping;
      head = req.method() == http::verb::head;
      version = req.version();
      admin_request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      r.authorization = std::string(req[http::field::authorization]);
      r.content_type = std::string(req[http::field::content_type]);
      r.content_signature = std::string(req["x-content-signature"]);
      r.body = std::move(req.body());
      r.over_tcp = over_tcp;
      r.peer = peer;
      try {
        reply = co_await handler(std::move(r));
      } catch (const std::exception& e) {
        log.error("admin.handler_failed peer={} error=\"{}\"", peer, e.what());
        reply = json_error(500, "internal error; see the daemon's log");
      }
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
    res.set(http::field::server, "ticketsyncd");
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : reply.headers) res.set(k, v);
    res.body() = std::move(reply.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (head) res.body().clear();  // Content-Length stays that of the GET answer
    beast::get_lowest_layer(stream).expires_after(request_deadline);
    auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
    (void)wn;
    if (wec || !keep_alive) break;
  }
  if constexpr (is_tls) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds{2});
    auto [sec] = co_await stream.async_shutdown(use_tuple);
    (void)sec;
  }
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(net::socket_base::shutdown_send, ignored);
}

template <class Acceptor, class Stream>
net::awaitable<void> admin_server::impl::accept_loop(Acceptor& acceptor, bool over_tcp) {
  auto self = shared_from_this();
  while (!stopping) {
    if (active >= cfg.max_connections) {
      // The rest wait in the listen backlog until a connection ends.
      co_await slot_free.wait_for(std::chrono::seconds{1});
      continue;
    }
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (stopping || ec == net::error::operation_aborted) break;
    if (ec) {
      // EMFILE and friends: back off instead of spinning.
      log.warn("{}.accept_failed error=\"{}\"", section, ec.message());
      co_await slot_free.wait_for(std::chrono::milliseconds{200});
      continue;
    }
    std::string peer = "unix";
    if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
      boost::system::error_code pec;
      const auto ep = socket.remote_endpoint(pec);
      peer = pec ? "tcp" : "tcp:" + ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    ++active;
    if constexpr (std::is_same_v<Stream, beast::basic_stream<tcp>> ||
                  std::is_same_v<Stream, beast::basic_stream<local>>) {
      net::co_spawn(ex, serve(Stream(std::move(socket)), over_tcp, std::move(peer)), net::detached);
    } else {
      std::shared_ptr<ssl::context> context = tls;  // this connection keeps the certificate it started with
      net::co_spawn(
          ex, serve(Stream(beast::basic_stream<tcp>(std::move(socket)), *context), over_tcp, std::move(peer), context),
          net::detached);
    }
  }
}

void admin_server::impl::open_unix() {
  const std::string& path = cfg.socket;
  // A file left by a daemon that died: replace it, unless someone answers there.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("admin.socket '" + path + "' exists and is not a socket");
    local::socket probe(ex);
    boost::system::error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec) throw std::runtime_error("admin.socket '" + path + "' is in use by another process");
    ::unlink(path.c_str());
  }
  unix_acceptor.emplace(ex);
  boost::system::error_code ec;
  unix_acceptor->open(local(), ec);
  if (!ec) unix_acceptor->bind(local::endpoint(path), ec);
  if (ec) throw std::runtime_error("admin.socket '" + path + "': cannot bind: " + ec.message());
  socket_path = path;
  // Permissions before listen(): nobody can connect in between.
  if (::chmod(path.c_str(), static_cast<mode_t>(cfg.socket_mode)) != 0)
    throw std::runtime_error("admin.socket '" + path + "': chmod: " + std::strerror(errno));
  if (!cfg.socket_group.empty()) {
    const group* g = ::getgrnam(cfg.socket_group.c_str());
    if (g == nullptr) throw std::runtime_error("admin.socket_group '" + cfg.socket_group + "' does not exist");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      throw std::runtime_error("admin.socket '" + path + "': chown to group '" + cfg.socket_group +
                               "': " + std::strerror(errno) + " (the daemon's user must be a member)");
  }
  unix_acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("admin.socket '" + path + "': cannot listen: " + ec.message());
}

void admin_server::impl::open_tcp() {
  const auto ep = parse_listen(cfg.listen);
  if (!ep) throw std::runtime_error(section + ".listen '" + cfg.listen + "': not an IP address and port");
  tcp_acceptor.emplace(ex);
  boost::system::error_code ec;
  tcp_acceptor->open(ep->protocol(), ec);
  if (!ec) tcp_acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) tcp_acceptor->bind(*ep, ec);
  if (!ec) tcp_acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(section + ".listen '" + cfg.listen + "': " + ec.message());
}

admin_server::admin_server(net::any_io_executor ex, const config::admin_config& cfg, admin_handler handler,
                           spdlog::logger& log, sync::timer_source& timers)
    : impl_(std::make_shared<impl>(std::move(ex), cfg, std::move(handler), log, timers)) {}

admin_server::~admin_server() {
  if (!impl_->socket_path.empty()) ::unlink(impl_->socket_path.c_str());
}

void admin_server::open() {
  if (!impl_->cfg.socket.empty()) impl_->open_unix();
  if (!impl_->cfg.listen.empty()) impl_->open_tcp();
}

net::awaitable<void> admin_server::run() {
  auto i = impl_;
  if (i->unix_acceptor && i->tcp_acceptor)
    net::co_spawn(i->ex, i->accept_loop<local::acceptor, beast::basic_stream<local>>(*i->unix_acceptor, false),
                  net::detached);
  else if (i->unix_acceptor)
    co_await i->accept_loop<local::acceptor, beast::basic_stream<local>>(*i->unix_acceptor, false);
  if (i->tcp_acceptor) co_await i->accept_loop<tcp::acceptor, beast::basic_stream<tcp>>(*i->tcp_acceptor, true);
}

void admin_server::stop() {
  impl_->stopping = true;
  boost::system::error_code ignored;
  if (impl_->tcp_acceptor) impl_->tcp_acceptor->close(ignored);
  if (impl_->unix_acceptor) impl_->unix_acceptor->close(ignored);
  impl_->slot_free.notify();
  // Idle keep-alive connections end now; one whose request is being handled
  // finishes it (keep_alive is off once stopping) unless its wait is cut here.
  auto closers = impl_->closers;
  for (auto& [id, close] : closers) close();
}

std::string admin_server::tcp_address() const {
  if (!impl_->tcp_acceptor) return {};
  boost::system::error_code ec;
  const auto ep = impl_->tcp_acceptor->local_endpoint(ec);
  if (ec) return {};
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

//------------------------------------------------------------------------------
// public_server: the same transport, one TCP address, TLS when configured.

namespace {

config::admin_config as_listener(const config::public_config& p) {
  config::admin_config a;
  a.listen = p.listen;
  a.max_body_bytes = p.max_body_bytes;
  a.max_connections = p.max_connections;
  return a;
}

}  // namespace

public_server::public_server(net::any_io_executor ex, const config::public_config& cfg, admin_handler handler,
                             spdlog::logger& log, sync::timer_source& timers)
    : impl_(std::make_shared<admin_server::impl>(std::move(ex), as_listener(cfg), std::move(handler), log, timers,
                                                 "public")) {
  impl_->rate.emplace(cfg.requests_per_second);
}

public_server::~public_server() = default;

std::optional<std::string> public_server::load_certificate(const std::string& cert_file, const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return "public.cert_file '" + cert_file + "': " + ec.message();
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return "public.key_file '" + key_file + "': " + ec.message();
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return "public.key_file '" + key_file + "' is not the key of public.cert_file '" + cert_file + "'";
  impl_->tls = std::move(ctx);  // new connections use it; open ones keep theirs
  return std::nullopt;
}

void public_server::open() { impl_->open_tcp(); }

net::awaitable<void> public_server::run() {
  auto i = impl_;
  if (i->tls)
    co_await i->accept_loop<tcp::acceptor, beast::ssl_stream<beast::basic_stream<tcp>>>(*i->tcp_acceptor, true);
  else
    co_await i->accept_loop<tcp::acceptor, beast::basic_stream<tcp>>(*i->tcp_acceptor, true);
}

void public_server::stop() {
  impl_->stopping = true;
  boost::system::error_code ignored;
  if (impl_->tcp_acceptor) impl_->tcp_acceptor->close(ignored);
  impl_->slot_free.notify();
  auto closers = impl_->closers;
  for (auto& [id, close] : closers) close();
}

std::string public_server::tcp_address() const {
  boost::system::error_code ec;
  const auto ep = impl_->tcp_acceptor ? impl_->tcp_acceptor->local_endpoint(ec) : tcp::endpoint{};
  if (!impl_->tcp_acceptor || ec) return {};
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace ts::ops
