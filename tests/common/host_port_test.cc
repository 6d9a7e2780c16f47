#include "common/src/host_port.h"

#include <gtest/gtest.h>

namespace newsroom {
namespace {

TEST(ParseHostPortTest, AcceptsHostnameIpv4AndBracketedIpv6) {
  auto parsed = ParseHostPort("localhost:6379", "--redis");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "localhost");
  EXPECT_EQ(parsed->port, 6379);

  parsed = ParseHostPort("127.0.0.1:0", "--redis");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->port, 0);

  parsed = ParseHostPort("[::1]:50051", "--redis");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 50051);
}

TEST(ParseHostPortTest, RejectsMalformedAddressesNamingTheField) {
  for (const char* bad : {"", "localhost", ":80", "host:", "host:65536", "host:-1", "host:12ab",
                          "::1:80", "[::1]80", "[::1", "[::1]:"}) {
    const auto parsed = ParseHostPort(bad, "--redis");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find("--redis"), absl::string_view::npos) << bad;
  }
}

}  // namespace
}  // namespace newsroom
