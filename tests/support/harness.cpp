#include "support/harness.hpp"

#include "psa/https_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

namespace ts::test {

namespace net = boost::asio;

temp_dir::temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::random_device rd;
  path_ = fs::path(base ? base : "/tmp") / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

temp_dir::~temp_dir() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "[kept for inspection: " << path_ << "]\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ticketsyncd_path() { return TS_TICKETSYNCD_PATH; }
std::string cwsim_path() { return TS_CWSIM_PATH; }
std::string repo_path(const std::string& relative) { return std::string(TS_SOURCE_DIR) + "/" + relative; }

namespace {

struct sim_http {
  std::string host = "localhost";
  int port;
  std::string ca;

  nlohmann::json call(boost::beast::http::verb method, const std::string& target, const std::string& body) const {
    net::io_context ioc;
    psa::client_options o;
    o.host = host;
    o.port = std::to_string(port);
    o.ca_file = ca;
    o.request_timeout = std::chrono::seconds{30};
    o.max_response_bytes = 256u << 20;
    const ts::system_clock clk;
    psa::https_client client(ioc.get_executor(), o, clk);
    psa::http_request req;
    req.method = method;
    req.target = target;
    req.body = body;
    auto fut = net::co_spawn(ioc, client.send(req), net::use_future);
    ioc.run();
    auto res = fut.get();
    if (!res) throw std::runtime_error("cwsim " + target + ": " + res.error().to_string());
    if (res->status / 100 != 2)
      throw std::runtime_error("cwsim " + target + ": HTTP " + std::to_string(res->status) + " " + res->body);
    return nlohmann::json::parse(res->body);
  }
};

}  // namespace

cwsim_process::cwsim_process(const fs::path& dir, std::vector<std::string> extra_args) : dir_(dir) {
  fs::create_directories(dir_ / "tls");
  const std::string port_file = (dir_ / "cwsim.port").string();
  std::vector<std::string> argv{cwsim_path(), "--seed",      repo_path("tests/cwsim/seed.json"),
                                "--listen",   "127.0.0.1:0", "--port-file",
                                port_file,    "--tls-dir",   (dir_ / "tls").string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_ = std::make_unique<child_process>(argv, std::map<std::string, std::string>{}, (dir_ / "cwsim.log").string());
  const bool up =
      wait_until([&] { return fs::exists(port_file) && !read_file(port_file).empty(); }, std::chrono::seconds{30});
  if (!up) throw std::runtime_error("cwsim did not start: " + log());
  port_ = std::stoi(read_file(port_file));
}

cwsim_process::~cwsim_process() {
  proc_->signal(SIGTERM);
  proc_->wait(std::chrono::seconds{5});
}

nlohmann::json cwsim_process::get(const std::string& target) const {
  return sim_http{"localhost", port_, ca_file()}.call(boost::beast::http::verb::get, target, "");
}

nlohmann::json cwsim_process::post(const std::string& target, const nlohmann::json& body) const {
  return sim_http{"localhost", port_, ca_file()}.call(boost::beast::http::verb::post, target, body.dump());
}

cwsim_process::answer cwsim_process::api(const std::string& method, const std::string& target, const std::string& body,
                                         const std::string& credentials) const {
  net::io_context ioc;
  psa::client_options o;
  o.host = "localhost";
  o.port = std::to_string(port_);
  o.ca_file = ca_file();
  const ts::system_clock clk;
  psa::https_client client(ioc.get_executor(), o, clk);
  psa::http_request req;
  req.method = boost::beast::http::string_to_verb(method);
  req.target = "/v2025_1/apis/3.0" + target;
  req.body = body;
  std::string basic;
  {
    // Base64 of the credentials (the test's own, not a secret).
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : credentials) {
      acc = (acc << 8) | c;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        basic += tbl[(acc >> bits) & 63];
      }
    }
    if (bits > 0) basic += tbl[(acc << (6 - bits)) & 63];
    while (basic.size() % 4) basic += '=';
  }
  req.headers = {{"Authorization", "Basic " + basic},
                 {"clientId", "2f4b7c9e-1111-4a4a-9c9c-000000000001"},
                 {"Accept", "application/json"}};
  auto fut = net::co_spawn(ioc, client.send(req), net::use_future);
  ioc.run();
  auto res = fut.get();
  if (!res) return {0, res.error().to_string()};
  return {static_cast<int>(res->status), res->body};
}

cwsim_process::answer http_plain(const std::string& host_port, const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    const auto colon = host_port.rfind(':');
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds{15});
    stream.connect(resolver.resolve(host_port.substr(0, colon), host_port.substr(colon + 1)));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_port);
    req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return {static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception& e) {
    return {0, e.what()};
  }
}

daemon_setup::daemon_setup(const fs::path& dir, const cwsim_process& sim, const setup_options& opts)
    : dir_(dir), private_key_(opts.private_key) {
  fs::create_directories(dir_);
  std::ofstream out(config_path());
  out << "psa:\n"
      << "  site: " << sim.url() << "\n"
      << "  company_id: demo\n"
      << "  public_key: demo-public-key\n"
      << "  private_key:\n    env: TS_TEST_PRIVATE_KEY\n"
      << "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001\n"
      << "  ca_file: " << sim.ca_file() << "\n"
      << "  timeouts: " << opts.timeouts << "\n"
      << "  requests_per_minute: 600000\n"
      << opts.psa_extra << "companies:\n"
      << opts.companies << "ticket:\n"
      << "  board: Security Incidents\n  status: New\n"
      << opts.priority << "  summary: \"[{{severity}}] {{title}}\"\n"
      << opts.ticket_extra << opts.top_extra << "storage:\n  database: " << database().string() << "\n"
      << "intake:\n  spool_dir: " << spool().string() << "\n  rescan_interval: 1s\n"
      << "logging:\n"
      << opts.logging;
}

std::map<std::string, std::string> daemon_setup::env() const { return {{"TS_TEST_PRIVATE_KEY", private_key_}}; }

std::unique_ptr<child_process> daemon_setup::start(const std::map<std::string, std::string>& extra_env) const {
  auto vars = env();
  for (const auto& [k, v] : extra_env) vars.insert_or_assign(k, v);
  return std::make_unique<child_process>(std::vector<std::string>{ticketsyncd_path(), "run", "-c", config_path()}, vars,
                                         log_path());
}

int daemon_setup::submit(const std::vector<std::string>& files, std::string* output) const {
  std::vector<std::string> argv{ticketsyncd_path(), "submit", "-c", config_path()};
  argv.insert(argv.end(), files.begin(), files.end());
  return run_program(argv, env(), output);
}

int daemon_setup::run_command(std::vector<std::string> args, std::string* output,
                              const std::map<std::string, std::string>& extra_env) const {
  args.insert(args.begin(), ticketsyncd_path());
  auto vars = env();
  for (const auto& [k, v] : extra_env) vars.insert_or_assign(k, v);
  return run_program(args, vars, output);
}

void daemon_setup::wait_until_ready() const {
  ASSERT_TRUE(wait_until([&] { return log().find("daemon.ready") != std::string::npos; }, std::chrono::seconds{30}))
      << log();
}

void daemon_setup::spool_raw(const std::string& name, const std::string& content) const {
  fs::create_directories(spool() / "tmp");
  fs::create_directories(spool() / "new");
  const fs::path tmp = spool() / "tmp" / name;
  {
    std::ofstream out(tmp, std::ios::binary);
    out << content;
  }
  fs::rename(tmp, spool() / "new" / name);
}

nlohmann::json ticket_by_xref(const nlohmann::json& tickets, const std::string& xref) {
  for (const auto& t : tickets)
    if (t.value("externalXRef", "") == xref) return t;
  return nullptr;
}

bool wait_for(const cwsim_process& sim, const std::function<bool(const nlohmann::json&)>& pred,
              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred(sim.tickets())) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

std::string make_event(const std::string& source, const std::string& tenant, const std::string& issue_id,
                       const std::string& state, const std::string& severity, const std::string& title,
                       const std::string& updated_at) {
  return nlohmann::json{
      {"source", source},     {"tenant", tenant}, {"issue_id", issue_id},     {"state", state},
      {"severity", severity}, {"title", title},   {"updated_at", updated_at}, {"description", "Detected by " + source}}
      .dump();
}

}  // namespace ts::test
