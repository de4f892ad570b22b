#pragma once
// The fixture of the content conformance suite (conformance_*_test.cc): a fresh store per test,
// either the LocalStore itself or LocalStore <- ContentServer <- socket <- Proxy (the Backend
// parameter), plus helpers to look at what the LocalStore keeps on disk.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "services/content/content_test_util.h"

namespace berth::content::testing {

class ConformanceFixture : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-content").value());
    harness_ = std::make_unique<StoreHarness>(GetParam(), dir_->Join("content"));
  }
  void TearDown() override { harness_.reset(); }

  Store& store() { return harness_->store(); }
  std::string root() const { return dir_->Join("content"); }
  // Regular files under <store root>/<sub>.
  size_t FilesUnder(const std::string& sub) {
    size_t n = 0;
    std::string dir = harness_->local().root() + "/" + sub;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }
  Digest Put(std::string_view data, const std::string& ref = "put", const Labels& labels = {}) {
    Digest digest = Sha256(data);
    EXPECT_TRUE(WriteBlob(store(), ref, data, digest, labels).ok());
    return digest;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<StoreHarness> harness_;
};

// Instantiates a conformance suite for both backends.
#define BERTH_CONTENT_CONFORMANCE(suite)                             \
  INSTANTIATE_TEST_SUITE_P(                                          \
      Backends, suite,                                               \
      ::testing::Values(::berth::content::testing::Backend::kLocal,  \
                        ::berth::content::testing::Backend::kProxy), \
      [](const auto& info) { return ::berth::content::testing::BackendName(info.param); })

}  // namespace berth::content::testing
