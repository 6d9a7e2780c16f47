#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "analytics-service/src/redis_connection.h"
#include "analytics-service/src/redis_keys.h"

namespace newsroom::analytics {

// Turns a reader id into what is stored instead of it: HMAC-SHA256 under a secret key, so the
// stored value cannot be reversed or matched against a guessed id without the key.
class ReaderHasher final {
 public:
  // `key` must not be empty.
  explicit ReaderHasher(std::string key) : key_(std::move(key)) {}

  // The 32-byte HMAC-SHA256 of `reader_id`, or "" when `reader_id` is empty.
  [[nodiscard]] std::string Hash(absl::string_view reader_id) const;

 private:
  std::string key_;
};

// Returns the reader hash key kept in Redis, first storing a new random one (SET NX) when there is
// none. Every replica, and every restart, thus hashes with the same key without any configuration;
// an operator who wants the key outside Redis sets READER_HASH_KEY or --reader-hash-key-file
// instead. `generated` is set when this call created the key.
[[nodiscard]] absl::StatusOr<std::string> LoadOrCreateReaderHashKey(RedisConnection& connection,
                                                                    const RedisKeys& keys,
                                                                    bool* generated);

}  // namespace newsroom::analytics
