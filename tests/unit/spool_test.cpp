// Tests of the spool directory IO (intake/spool) on real files in a fresh
// temporary directory per test: atomic writes into new/, unique time-sorted
// names, size-limited reads that never read an oversized file, rejection with
// a reason file and numeric suffixes, listing rules and error reporting.
#include "intake/spool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace ts::intake;
using ::testing::HasSubstr;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void put(const fs::path& path, const std::string& content) { std::ofstream(path, std::ios::binary) << content; }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A fresh spool root (not yet created) in a temporary directory removed at the end.
class spool_test : public ::testing::Test {
 protected:
  spool_test() {
    std::string pattern = (fs::temp_directory_path() / "ts_spool_test.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    base_ = pattern;
    paths_ = spool_paths::under(base_ / "spool");
  }
  ~spool_test() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  void SetUp() override { ensure_spool(paths_); }

  fs::path base_;
  spool_paths paths_;
  ts::system_clock clk_;
  ts::system_random random_;
};

TEST_F(spool_test, paths_under_root) {
  const spool_paths p = spool_paths::under("/var/spool/ts");
  EXPECT_EQ(p.root, fs::path("/var/spool/ts"));
  EXPECT_EQ(p.tmp, fs::path("/var/spool/ts/tmp"));
  EXPECT_EQ(p.fresh, fs::path("/var/spool/ts/new"));
  EXPECT_EQ(p.rejected, fs::path("/var/spool/ts/rejected"));
}

TEST_F(spool_test, ensure_spool_creates_every_directory_and_is_idempotent) {
  const spool_paths p = spool_paths::under(base_ / "a" / "b");
  ensure_spool(p);
  EXPECT_TRUE(fs::is_directory(p.root));
  EXPECT_TRUE(fs::is_directory(p.tmp));
  EXPECT_TRUE(fs::is_directory(p.fresh));
  EXPECT_TRUE(fs::is_directory(p.rejected));
  EXPECT_NO_THROW(ensure_spool(p));
}

TEST_F(spool_test, ensure_spool_failure_names_the_path) {
  put(base_ / "file", "x");
  const spool_paths p = spool_paths::under(base_ / "file");
  try {
    ensure_spool(p);
    FAIL() << "created a spool under a regular file";
  } catch (const fs::filesystem_error& e) {
    EXPECT_THAT(e.what(), HasSubstr((base_ / "file").string()));
  }
}

TEST_F(spool_test, write_lands_in_new_with_content_and_leaves_tmp_empty) {
  const std::string content = R"({"source":"wazuh"})";
  const std::string name = spool_write(paths_, content, clk_, random_);
  EXPECT_EQ(names_in(paths_.fresh), std::vector<std::string>{name});
  EXPECT_EQ(slurp(paths_.fresh / name), content);
  EXPECT_TRUE(fs::is_empty(paths_.tmp));
  EXPECT_TRUE(fs::is_empty(paths_.rejected));

  struct stat st {};
  ASSERT_EQ(::stat((paths_.fresh / name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0027, 0u) << "spool files must not be group-writable or world-accessible";
}

TEST_F(spool_test, write_is_group_readable_whatever_the_umask) {
  const mode_t old = ::umask(077);
  const std::string name = spool_write(paths_, "{}", clk_, random_);
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((paths_.fresh / name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "the daemon reads submitted files through the spool's group";
}

TEST_F(spool_test, write_of_empty_and_large_content) {
  const std::string empty = spool_write(paths_, "", clk_, random_);
  EXPECT_EQ(fs::file_size(paths_.fresh / empty), 0u);
  const std::string big(3 * 1024 * 1024 + 17, 'z');
  const std::string name = spool_write(paths_, big, clk_, random_);
  EXPECT_EQ(slurp(paths_.fresh / name), big);
}

TEST_F(spool_test, name_has_the_documented_shape) {
  const auto before =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string name = spool_write(paths_, "{}", clk_, random_);
  const auto after =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();

  std::smatch m;
  ASSERT_TRUE(std::regex_match(name, m, std::regex(R"(^(\d{13})\.(\d+)\.(\d+)\.([0-9a-f]+)\.json$)"))) << name;
  const long long ms = std::stoll(m[1].str());
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  EXPECT_EQ(std::stol(m[2].str()), static_cast<long>(::getpid()));
}

TEST_F(spool_test, names_are_unique_and_sort_in_writing_order) {
  std::vector<std::string> written;
  for (int i = 0; i < 1000; ++i) written.push_back(spool_write(paths_, std::to_string(i), clk_, random_));

  EXPECT_EQ(std::set<std::string>(written.begin(), written.end()).size(), written.size());
  EXPECT_TRUE(std::is_sorted(written.begin(), written.end()));
  EXPECT_EQ(spool_list(paths_, 5000), written);
  EXPECT_EQ(slurp(paths_.fresh / written[417]), "417");
}

TEST_F(spool_test, write_into_missing_spool_throws_naming_the_path) {
  const spool_paths missing = spool_paths::under(base_ / "nowhere");
  try {
    spool_write(missing, "{}", clk_, random_);
    FAIL() << "wrote into a spool that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr((base_ / "nowhere" / "tmp").string()));
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
  EXPECT_FALSE(fs::exists(base_ / "nowhere"));
}

TEST_F(spool_test, failed_rename_leaves_nothing_behind) {
  fs::remove(paths_.fresh);  // tmp/ exists, new/ does not
  EXPECT_THROW(spool_write(paths_, "{}", clk_, random_), std::system_error);
  EXPECT_TRUE(fs::is_empty(paths_.tmp));
}

TEST_F(spool_test, read_returns_whole_file) {
  const std::string name = spool_write(paths_, "hello", clk_, random_);
  const spool_file f = spool_read(paths_, name, 5);  // exactly the limit is allowed
  EXPECT_EQ(f.status, read_status::ok);
  EXPECT_EQ(f.name, name);
  EXPECT_EQ(f.size, 5u);
  EXPECT_EQ(f.content, "hello");
  EXPECT_EQ(f.error, "");
}

TEST_F(spool_test, read_refuses_oversized_file_without_reading_it) {
  const std::string name = spool_write(paths_, std::string(100, 'a'), clk_, random_);
  const spool_file f = spool_read(paths_, name, 99);
  EXPECT_EQ(f.status, read_status::too_large);
  EXPECT_EQ(f.size, 100u);
  EXPECT_TRUE(f.content.empty());
  EXPECT_TRUE(fs::exists(paths_.fresh / name));  // the caller decides what to do with it
}

TEST_F(spool_test, read_of_missing_file_is_vanished) {
  const spool_file f = spool_read(paths_, "1700000000000.1.0000000001.ab.json", 1024);
  EXPECT_EQ(f.status, read_status::vanished);
  EXPECT_TRUE(f.content.empty());
}

TEST_F(spool_test, read_of_non_regular_files_is_io_error) {
  fs::create_directory(paths_.fresh / "dir.json");
  spool_file f = spool_read(paths_, "dir.json", 1024);
  EXPECT_EQ(f.status, read_status::io_error);
  EXPECT_THAT(f.error, HasSubstr("not a regular file"));

  put(base_ / "outside", "secret");
  fs::create_symlink(base_ / "outside", paths_.fresh / "link.json");
  f = spool_read(paths_, "link.json", 1024);
  EXPECT_EQ(f.status, read_status::io_error);
  EXPECT_THAT(f.error, HasSubstr("symbolic link"));
  EXPECT_TRUE(f.content.empty());

  // A FIFO must not block the reader waiting for a writer.
  ASSERT_EQ(::mkfifo((paths_.fresh / "fifo.json").c_str(), 0600), 0);
  f = spool_read(paths_, "fifo.json", 1024);
  EXPECT_EQ(f.status, read_status::io_error);

  f = spool_read(paths_, "../outside", 1024);
  EXPECT_EQ(f.status, read_status::io_error);
  EXPECT_TRUE(f.content.empty());
}

TEST_F(spool_test, reject_moves_the_file_and_writes_the_reason) {
  const std::string name = spool_write(paths_, "not json", clk_, random_);
  const std::string used = spool_reject(paths_, name, "invalid JSON at byte 0");
  EXPECT_EQ(used, name);
  EXPECT_FALSE(fs::exists(paths_.fresh / name));
  EXPECT_EQ(slurp(paths_.rejected / name), "not json");
  EXPECT_EQ(slurp(paths_.rejected / (name + ".reason")), "invalid JSON at byte 0\n");
}

TEST_F(spool_test, reject_of_a_taken_name_adds_a_suffix) {
  put(paths_.fresh / "e.json", "first");
  EXPECT_EQ(spool_reject(paths_, "e.json", "one"), "e.json");
  put(paths_.fresh / "e.json", "second");
  EXPECT_EQ(spool_reject(paths_, "e.json", "two"), "e.json.1");
  put(paths_.fresh / "e.json", "third");
  EXPECT_EQ(spool_reject(paths_, "e.json", "three"), "e.json.2");

  EXPECT_EQ(slurp(paths_.rejected / "e.json"), "first");
  EXPECT_EQ(slurp(paths_.rejected / "e.json.reason"), "one\n");
  EXPECT_EQ(slurp(paths_.rejected / "e.json.1"), "second");
  EXPECT_EQ(slurp(paths_.rejected / "e.json.1.reason"), "two\n");
  EXPECT_EQ(slurp(paths_.rejected / "e.json.2"), "third");
  EXPECT_EQ(slurp(paths_.rejected / "e.json.2.reason"), "three\n");
  EXPECT_TRUE(fs::is_empty(paths_.fresh));
}

TEST_F(spool_test, reject_of_a_missing_file_throws_naming_the_path) {
  try {
    spool_reject(paths_, "gone.json", "x");
    FAIL() << "rejected a file that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr((paths_.fresh / "gone.json").string()));
  }
  EXPECT_THROW(spool_reject(paths_, "../escape", "x"), std::invalid_argument);
}

TEST_F(spool_test, list_skips_hidden_and_non_regular_entries_and_sorts) {
  put(paths_.fresh / "b.json", "{}");
  put(paths_.fresh / "a.json", "{}");
  put(paths_.fresh / "c.json", "{}");
  put(paths_.fresh / ".hidden.json", "{}");
  fs::create_directory(paths_.fresh / "d.json");
  fs::create_symlink(paths_.fresh / "a.json", paths_.fresh / "e.json");

  EXPECT_EQ(spool_list(paths_, 100), (std::vector<std::string>{"a.json", "b.json", "c.json"}));
  EXPECT_EQ(spool_list(paths_, 2), (std::vector<std::string>{"a.json", "b.json"}));
  EXPECT_EQ(spool_list(paths_, 1), (std::vector<std::string>{"a.json"}));
  EXPECT_TRUE(spool_list(paths_, 0).empty());
}

TEST_F(spool_test, list_limit_keeps_the_oldest_names) {
  std::vector<std::string> written;
  for (int i = 0; i < 50; ++i) written.push_back(spool_write(paths_, "{}", clk_, random_));
  const std::vector<std::string> first(written.begin(), written.begin() + 10);
  EXPECT_EQ(spool_list(paths_, 10), first);
}

TEST_F(spool_test, list_of_missing_directory_throws) {
  fs::remove(paths_.fresh);
  EXPECT_THROW(spool_list(paths_, 10), fs::filesystem_error);
}

TEST_F(spool_test, remove_and_sync) {
  const std::string name = spool_write(paths_, "{}", clk_, random_);
  spool_remove(paths_, name);
  EXPECT_FALSE(fs::exists(paths_.fresh / name));
  EXPECT_NO_THROW(spool_remove(paths_, name));  // missing is not an error
  EXPECT_NO_THROW(spool_sync(paths_));
  EXPECT_THROW(spool_remove(paths_, "../x"), std::invalid_argument);

  fs::remove(paths_.fresh);
  EXPECT_THROW(spool_sync(paths_), std::system_error);
}

}  // namespace
