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

TEST(CheckChannelTargetTest, AcceptsHostPortAndTheResolversThatSpreadCalls) {
  for (const char* good :
       {"analytics-service:50052", "[::1]:50052", "dns:///analytics-service:50052",
        "dns:analytics-service:50052", "dns://10.0.0.10:53/analytics-service.newsroom:50052",
        "ipv4:127.0.0.1:1,127.0.0.1:2", "ipv6:[::1]:50052"}) {
    EXPECT_TRUE(CheckChannelTarget(good, "--analytics").ok()) << good;
  }
}

TEST(CheckChannelTargetTest, RejectsMalformedTargetsNamingTheField) {
  for (const char* bad : {"", "analytics-service", "dns:///analytics-service", "dns://x:50052",
                          "ipv4:", "ipv4:127.0.0.1:1,", "unix:/tmp/socket", "xds:///analytics"}) {
    const absl::Status status = CheckChannelTarget(bad, "--analytics");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("--analytics"), absl::string_view::npos) << bad;
  }
}

}  // namespace
}  // namespace newsroom
