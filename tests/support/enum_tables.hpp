// A check for ts::enum_text tables, shared by the tests of every module that
// declares one.
#pragma once

#include "core/enum_text.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string_view>

namespace ts::test {

// Every enum table names each value once, and names are distinct: a table
// with a duplicate or a missing row would make the store, the configuration
// or a log misread a value.
template <ts::text_enum E>
void expect_bijective_table(std::size_t values) {
  std::set<std::string_view> names;
  std::set<int> seen;
  for (const auto& [v, name] : ts::enum_text<E>::names) {
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_TRUE(seen.insert(static_cast<int>(v)).second) << "duplicate value for " << name;
    EXPECT_EQ(ts::from_text<E>(name), v) << name;
    EXPECT_EQ(ts::to_text(v), name);
  }
  EXPECT_EQ(seen.size(), values);
  // Values are dense from 0, so every one up to `values` has a row.
  for (std::size_t i = 0; i < values; ++i) EXPECT_TRUE(seen.count(static_cast<int>(i))) << i;
}

}  // namespace ts::test
