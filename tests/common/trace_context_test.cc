#include "common/src/trace_context.h"

#include <gtest/gtest.h>

#include <string>

namespace newsroom {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string Formatted(const TraceContext& trace) {
  const auto header = FormatTraceparent(trace);
  return std::string(header.data(), header.size());
}

TEST(TraceparentTest, ParsesTheSpecsExampleAndFormatsItBack) {
  const std::optional<TraceContext> trace = ParseTraceparent(kValid);
  ASSERT_TRUE(trace.has_value());
  EXPECT_TRUE(trace->sampled());
  EXPECT_EQ(TraceIdHex(*trace), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(SpanIdHex(*trace), "00f067aa0ba902b7");
  EXPECT_EQ(Formatted(*trace), kValid);
}

TEST(TraceparentTest, UnsampledFlagsAreKept) {
  const auto trace = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(trace.has_value());
  EXPECT_FALSE(trace->sampled());
}

TEST(TraceparentTest, OnlyTheSampledFlagIsPassedOn) {
  const auto trace = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(trace.has_value());
  EXPECT_TRUE(trace->sampled());
  EXPECT_EQ(Formatted(*trace), kValid);
}

TEST(TraceparentTest, AHigherVersionIsReadAsVersion00AndSentAsIt) {
  for (const char* header : {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                             "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-next"}) {
    const auto trace = ParseTraceparent(header);
    ASSERT_TRUE(trace.has_value()) << header;
    EXPECT_EQ(Formatted(*trace), kValid) << header;
  }
}

struct InvalidCase {
  std::string name;
  std::string header;
};

class InvalidTraceparentTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidTraceparentTest, IsRefused) {
  EXPECT_FALSE(ParseTraceparent(GetParam().header).has_value()) << GetParam().header;
}

INSTANTIATE_TEST_SUITE_P(
    EveryForm, InvalidTraceparentTest,
    ::testing::Values(
        InvalidCase{"Empty", ""}, InvalidCase{"Garbage", "hello"},
        InvalidCase{"VersionFf", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        InvalidCase{"VersionNotHex", "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        InvalidCase{"Version00TooLong",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"},
        InvalidCase{"Version00TrailingSpace",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "},
        InvalidCase{"TooShort", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"},
        InvalidCase{"HigherVersionWithoutDashAfterFlags",
                    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"},
        InvalidCase{"UpperCaseTraceId", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
        InvalidCase{"UpperCaseParentId", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"},
        InvalidCase{"TraceIdNotHex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"},
        InvalidCase{"ParentIdNotHex", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01"},
        InvalidCase{"FlagsNotHex", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"},
        InvalidCase{"AllZeroTraceId", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
        InvalidCase{"AllZeroParentId", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
        InvalidCase{"WrongSeparator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        InvalidCase{"ShiftedFields", "00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

TEST(TraceIdsTest, NewTracesAndSpansAreRandomAndValid) {
  const TraceContext first = NewTrace(1.0);
  const TraceContext second = NewTrace(1.0);
  EXPECT_NE(first.trace_id, second.trace_id);
  EXPECT_TRUE(first.sampled());
  EXPECT_FALSE(NewTrace(0.0).sampled());
  const TraceContext child = NewChildSpan(first);
  EXPECT_EQ(child.trace_id, first.trace_id);
  EXPECT_NE(child.span_id, first.span_id);
  EXPECT_EQ(child.flags, first.flags);
  // What we send, we accept.
  const auto round_trip = ParseTraceparent(Formatted(child));
  ASSERT_TRUE(round_trip.has_value());
  EXPECT_EQ(round_trip->trace_id, child.trace_id);
  EXPECT_EQ(round_trip->span_id, child.span_id);
}

TEST(TraceIdsTest, SamplingByRateFollowsTheTraceIdsLastBytes) {
  std::array<std::uint8_t, 16> id{};
  id[8] = 0x01;  // low 64 bits about 2^56: 1/256 of the range
  EXPECT_TRUE(SampledAtRate(id, 0.01));
  EXPECT_FALSE(SampledAtRate(id, 0.001));
  EXPECT_FALSE(SampledAtRate(id, 0.0));
  id.fill(0xFF);
  EXPECT_TRUE(SampledAtRate(id, 1.0));
  EXPECT_FALSE(SampledAtRate(id, 0.999));

  int sampled = 0;
  for (int i = 0; i < 10000; ++i) sampled += NewTrace(0.1).sampled() ? 1 : 0;
  EXPECT_GT(sampled, 800);
  EXPECT_LT(sampled, 1200);
}

}  // namespace
}  // namespace newsroom
