// Metrics in the Prometheus text exposition format (version 0.0.4). Pure: a
// registry of families (counter, gauge, histogram), each with labelled series,
// and render() for GET /metrics. Single-threaded, like the event loop that
// owns it. Families are declared once, up front, with their help text; using
// an undeclared family, or one as the wrong type, is a programming error
// (std::logic_error).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::ops {

/// Label name/value pairs of one series, in the family's label order.
using labels = std::vector<std::pair<std::string, std::string>>;

class metrics {
 public:
  enum class type { counter, gauge, histogram };

  /// Declares a family. `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*;
  /// counters end in _total); histogram `buckets` are ascending upper bounds
  /// (+Inf is implied). Declaring a name twice throws std::logic_error.
  void declare(std::string name, type t, std::string help, std::vector<double> buckets = {});

  /// Counter += v (v >= 0).
  void add(std::string_view name, const labels& l = {}, double v = 1);
  /// Gauge = v; also sets a counter that mirrors a monotonic count kept elsewhere.
  void set(std::string_view name, const labels& l, double v);
  void set(std::string_view name, double v) { set(name, {}, v); }
  /// Histogram: one observation.
  void observe(std::string_view name, const labels& l, double v);

  /// The value of a counter or gauge series (0 when it has none); for tests.
  double value(std::string_view name, const labels& l = {}) const;

  /// Every family with HELP and TYPE lines, series sorted by labels.
  std::string render() const;

  /// Latency buckets for PSA requests, in seconds.
  static std::vector<double> latency_buckets();

 private:
  struct series {
    double value = 0;                    // counter / gauge
    std::vector<std::uint64_t> buckets;  // histogram: per bucket (not cumulative)
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct family {
    type t = type::counter;
    std::string help;
    std::vector<double> bounds;
    std::map<std::string, series> by_labels;  // key: the rendered label set, e.g. {kind="create"}
  };
  family& get(std::string_view name, type t);
  series& at(std::string_view name, type t, const labels& l);

  std::map<std::string, family, std::less<>> families_;
};

/// Declares every metric ticketsyncd exports (the catalogue the README lists).
void declare_ticketsync_metrics(metrics& m);

/// `{a="x",b="y"}` with the exposition format's escaping (\\, \", \n); "" for no labels.
std::string render_labels(const labels& l);

/// A sample value as the exposition format writes it (integers without a
/// fraction, +Inf, -Inf, NaN).
std::string render_value(double v);

}  // namespace ts::ops
