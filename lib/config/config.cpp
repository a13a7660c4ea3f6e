// The pure half of the configuration module: formatting of configuration
// errors and reading of secrets referenced by the configuration (a file or an
// environment variable). No yaml-cpp here; the loader lives in
// config_loader.cpp. Nothing in this file ever puts a secret's value into a
// message.

#include "config/config.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace ts::config {

std::string config_error::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    if (column > 0) {
      out += ':';
      out += std::to_string(column);
    }
  }
  out += ": ";
  out += message;
  return out;
}

namespace {

void set_why(std::string* why, std::string message) {
  if (why != nullptr) *why = std::move(message);
}

// Reads the whole file at `path` into `out`. Returns 0 on success or the errno
// of the failing call. stdio rather than iostreams because errno is reliable
// here, and the message must say why (ENOENT vs EACCES vs EISDIR).
int read_whole_file(const std::string& path, std::string& out) {
  struct closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) return errno != 0 ? errno : EIO;
  char buffer[4096];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, f.get());
    out.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  if (std::ferror(f.get()) != 0) return errno != 0 ? errno : EIO;
  return 0;
}

}  // namespace

std::optional<std::string> resolve_secret(const secret_ref& ref, std::string* why) {
  switch (ref.from) {
    case secret_ref::kind::file: {
      std::string value;
      errno = 0;
      if (const int err = read_whole_file(ref.ref, value); err != 0) {
        set_why(why, "cannot read secret file '" + ref.ref + "': " + std::strerror(err));
        return std::nullopt;
      }
      // Editors and `echo` add a final newline; it is never part of a key.
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
      if (value.empty()) {
        set_why(why, "secret file '" + ref.ref + "' is empty");
        return std::nullopt;
      }
      return value;
    }
    case secret_ref::kind::credential: {
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (dir == nullptr || *dir == '\0') {
        set_why(why, "credential '" + ref.ref +
                         "': CREDENTIALS_DIRECTORY is not set (start the daemon through systemd with "
                         "LoadCredential=" +
                         ref.ref + ":PATH, or use 'file: PATH')");
        return std::nullopt;
      }
      return resolve_secret(secret_ref{secret_ref::kind::file, std::string(dir) + "/" + ref.ref}, why);
    }
    case secret_ref::kind::env: {
      const char* value = std::getenv(ref.ref.c_str());
      if (value == nullptr) {
        set_why(why, "environment variable '" + ref.ref + "' is not set");
        return std::nullopt;
      }
      if (*value == '\0') {
        set_why(why, "environment variable '" + ref.ref + "' is empty");
        return std::nullopt;
      }
      return std::string(value);
    }
    case secret_ref::kind::none: break;
  }
  set_why(why, "no secret configured (expected a file or env reference)");
  return std::nullopt;
}

}  // namespace ts::config
