#include "tests/support/redis_client.h"

#include <gtest/gtest.h>

namespace newsroom::testing {

RedisClient::RedisClient(int port) : context_(redisConnect("127.0.0.1", port), &redisFree) {
  EXPECT_TRUE(context_ != nullptr && context_->err == 0) << "cannot connect to Redis";
}

RedisClient::Reply RedisClient::Run(const std::vector<std::string>& argv) {
  if (context_ == nullptr || context_->err != 0) return Reply(nullptr, &freeReplyObject);
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return Reply(static_cast<redisReply*>(redisCommandArgv(
                   context_.get(), static_cast<int>(args.size()), args.data(), lengths.data())),
               &freeReplyObject);
}

std::string RedisClient::String(const std::vector<std::string>& argv) {
  const Reply reply = Run(argv);
  if (reply == nullptr) {
    ADD_FAILURE() << argv.front() << ": no reply";
    return "";
  }
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      return std::to_string(reply->integer);
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(reply->str, reply->len);
    case REDIS_REPLY_NIL:
      return "";
    default:
      ADD_FAILURE() << argv.front() << ": unexpected reply type " << reply->type
                    << (reply->str != nullptr ? ": " + std::string(reply->str, reply->len) : "");
      return "";
  }
}

std::vector<std::string> RedisClient::Strings(const std::vector<std::string>& argv) {
  const Reply reply = Run(argv);
  std::vector<std::string> out;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) {
    ADD_FAILURE() << argv.front() << ": no array reply";
    return out;
  }
  for (std::size_t i = 0; i < reply->elements; ++i) {
    out.emplace_back(reply->element[i]->str, reply->element[i]->len);
  }
  return out;
}

std::vector<std::string> RedisClient::KeysMatching(const std::string& pattern) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    // [next cursor, [keys...]]
    const Reply reply = Run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      ADD_FAILURE() << "SCAN: unexpected reply";
      break;
    }
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    for (std::size_t i = 0; i < reply->element[1]->elements; ++i) {
      keys.emplace_back(reply->element[1]->element[i]->str, reply->element[1]->element[i]->len);
    }
  } while (cursor != "0");
  return keys;
}

}  // namespace newsroom::testing
