#pragma once

// A test's own connection to a redis-server on loopback, its commands in hiredis' argv form
// (binary-safe: dedup marker fields are binary). Failures fail the test (gtest), not the program.

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

namespace newsroom::testing {

class RedisClient final {
 public:
  explicit RedisClient(int port);

  // A string or status reply's text, an integer reply's digits, "" for nil; an error or another
  // kind of reply fails the test (and gives "").
  std::string String(const std::vector<std::string>& argv);
  // The string elements of an array reply.
  std::vector<std::string> Strings(const std::vector<std::string>& argv);
  // Every key matching `pattern`, by SCAN.
  std::vector<std::string> KeysMatching(const std::string& pattern);

 private:
  using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;
  Reply Run(const std::vector<std::string>& argv);

  std::unique_ptr<redisContext, decltype(&redisFree)> context_;
};

}  // namespace newsroom::testing
