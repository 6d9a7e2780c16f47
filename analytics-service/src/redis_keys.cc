#include "analytics-service/src/redis_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace newsroom::analytics {

std::string RedisKeys::Reads(absl::string_view article_id) const {
  return absl::StrCat(prefix_, "reads:", article_id);
}

std::string RedisKeys::Readers(absl::string_view article_id) const {
  return absl::StrCat(prefix_, "readers:", article_id);
}

std::string RedisKeys::ReadersCount(absl::string_view article_id) const {
  return absl::StrCat(prefix_, "readers-count:", article_id);
}

std::string RedisKeys::DedupShard(const DedupSlot& slot, uint64_t shard) const {
  return absl::StrCat(prefix_, "dedup:", slot.seconds, ":", slot.index, ":", shard);
}

std::string RedisKeys::DedupShards(const DedupSlot& slot) const {
  return absl::StrCat(prefix_, "dedup:", slot.seconds, ":", slot.index, ":shards");
}

std::string RedisKeys::DedupCount(const DedupSlot& slot) const {
  return absl::StrCat(prefix_, "dedup:", slot.seconds, ":", slot.index, ":count");
}

std::string RedisKeys::DedupLegacyUntil() const {
  return absl::StrCat(prefix_, "dedup:legacy-until");
}

std::string RedisKeys::LegacySeen(absl::string_view article_id, absl::string_view read_id) const {
  return absl::StrCat(prefix_, "seen:", article_id, ":", read_id);
}

std::string RedisKeys::TopAllTime() const { return absl::StrCat(prefix_, "top:all"); }

std::string RedisKeys::TopDay(absl::CivilDay day) const {
  return absl::StrCat(
      prefix_, "top:day:", absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day()));
}

std::string RedisKeys::TopUnionScratch() const { return absl::StrCat(prefix_, "tmp:top-union"); }

std::string RedisKeys::Changes() const { return absl::StrCat(prefix_, "changes"); }

std::string RedisKeys::ChangesHead() const { return absl::StrCat(prefix_, "changes:head"); }

std::string RedisKeys::ChangesId() const { return absl::StrCat(prefix_, "changes:id"); }

std::string RedisKeys::ReaderHashKey() const { return absl::StrCat(prefix_, "reader-hash-key"); }

}  // namespace newsroom::analytics
