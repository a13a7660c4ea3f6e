// The spool directory (maildir semantics). Producers write `tmp/NAME`, then
// rename it into `new/`; ticketsyncd reads `new/`, commits accepted events to
// the inbox, then unlinks the files. Invalid files move to `rejected/` with
// `NAME.reason` beside them. Plain synchronous file IO; the watcher
// (spool_watcher) decides when to call it.
#pragma once

#include "core/clock.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ts::intake {

struct spool_paths {
  std::filesystem::path root, tmp, fresh /* new/ */, rejected;
  static spool_paths under(const std::filesystem::path& root);
};

/// Creates root, tmp/, new/ and rejected/ when missing. Throws
/// std::filesystem::filesystem_error naming the path on failure.
void ensure_spool(const spool_paths& p);

/// Writes `content` into the spool atomically: tmp/NAME is written and
/// fsync'ed, renamed to new/NAME, and new/ is fsync'ed. NAME is unique
/// (`<unix-ms>.<pid>.<seq>.<random>.json`) and sorts by time of writing.
/// Returns NAME. The time in NAME comes from `clk`, its random part from
/// `random`. Throws std::system_error naming the path on failure; on failure
/// nothing is left in new/.
std::string spool_write(const spool_paths& p, std::string_view content, const ts::clock& clk, random_source& random);

/// Regular files in new/ (hidden files skipped), sorted by name, at most `limit`.
/// Throws std::filesystem::filesystem_error when new/ cannot be listed.
std::vector<std::string> spool_list(const spool_paths& p, std::size_t limit);

enum class read_status {
  ok,         ///< content holds the whole file
  too_large,  ///< larger than max_bytes; not read
  vanished,   ///< gone (another process took it)
  io_error,   ///< could not be read; `error` says why
};

struct spool_file {
  std::string name;
  read_status status = read_status::ok;
  std::uintmax_t size = 0;
  std::string content;
  std::string error;
};

/// Reads new/NAME unless it is larger than `max_bytes` (checked with fstat on
/// the opened file, so a file is never read past the limit). Never throws for
/// a bad file: symlinks, non-regular files and names that are not plain file
/// names are io_error.
spool_file spool_read(const spool_paths& p, const std::string& name, std::size_t max_bytes);

/// Moves new/NAME to rejected/NAME (a numeric suffix is added if that name is
/// taken) and writes `<that name>.reason` containing `reason` and a newline.
/// Returns the name used in rejected/. Throws std::system_error naming the
/// path on failure. REQUIRES: NAME is a plain file name (no '/', not "." or
/// ".."), as spool_list returns; else std::invalid_argument. Same for spool_remove.
std::string spool_reject(const spool_paths& p, const std::string& name, std::string_view reason);

/// Unlinks new/NAME (missing is not an error); other failures throw
/// std::system_error naming the path.
void spool_remove(const spool_paths& p, const std::string& name);

/// fsync of new/ after a batch of unlinks or renames. Throws std::system_error.
void spool_sync(const spool_paths& p);

}  // namespace ts::intake
