#include "analytics-service/src/reader_hasher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"

namespace newsroom::analytics {

std::string ReaderHasher::Hash(absl::string_view reader_id) const {
  if (reader_id.empty()) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(reader_id.data()), reader_id.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

absl::StatusOr<std::string> LoadOrCreateReaderHashKey(RedisConnection& connection,
                                                      const RedisKeys& keys, bool* generated) {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) {
    return absl::InternalError("cannot generate a random reader hash key");
  }
  const std::string candidate = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(random), sizeof random));
  const RedisCommand commands[] = {{"SET", keys.ReaderHashKey(), candidate, "NX"},
                                   {"GET", keys.ReaderHashKey()}};
  absl::StatusOr<std::vector<RedisReply>> replies = connection.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  const redisReply& set = *(*replies)[0];
  const redisReply& get = *(*replies)[1];
  if (set.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(set);
  if (get.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(get);
  if (get.type != REDIS_REPLY_STRING || get.len == 0) {
    return absl::InternalError("unexpected reply from Redis");
  }
  *generated = set.type == REDIS_REPLY_STATUS;
  return std::string(get.str, get.len);
}

}  // namespace newsroom::analytics
