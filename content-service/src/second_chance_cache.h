#pragma once

#include <cstddef>
#include <iterator>
#include <list>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace newsroom::content {

// Values kept by key within a bound on their bytes (which the caller states for each, above 0).
// When a new one does not fit, the oldest go first, except that one read since it was last
// considered gets a second chance: it goes to the back of the queue instead (the CLOCK policy, as a
// queue). The article cache (CachedArticleStore) and the listing cache (ListingCache) each keep
// their entries in one, under bounds of their own.
//
// Why not evict arbitrary entries: a readership is skewed (a few articles and front pages take most
// views), and what is read every second must not go whenever a one-off read brings in another. Why
// not exact LRU: that would relink an entry's list node and its neighbours' on every read; here a
// read only sets a flag in the entry, and an entry is moved at most once per pass.
//
// `Key` must be hashable by absl. Lookups take a `Key`, or for a std::string key anything absl's
// string hash takes (a string_view: no string is built to look one up). Not thread-safe: its owner
// holds a lock around every call.
template <typename Key, typename ValueType>
class SecondChanceCache final {
  struct Entry;
  using Queue = std::list<Entry>;

 public:
  using Value = ValueType;

  explicit SecondChanceCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  // A moved-from cache is empty, with the same bound: still usable.
  SecondChanceCache(SecondChanceCache&& other) noexcept
      : max_bytes_(other.max_bytes_),
        bytes_(std::exchange(other.bytes_, 0)),
        queue_(std::move(other.queue_)),
        index_(std::move(other.index_)) {
    other.queue_.clear();
    other.index_.clear();
  }
  SecondChanceCache& operator=(SecondChanceCache&& other) noexcept {
    if (this == &other) return *this;
    max_bytes_ = other.max_bytes_;
    bytes_ = std::exchange(other.bytes_, 0);
    // The index holds iterators to the queue's nodes, which a moved list keeps.
    queue_ = std::move(other.queue_);
    index_ = std::move(other.index_);
    other.queue_.clear();
    other.index_.clear();
    return *this;
  }

  // The value if kept, else null, marked as read, so that it gets a second chance. The pointer is
  // valid until the next call that changes the cache.
  template <typename K>
  [[nodiscard]] const Value* FindAndMark(const K& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    Entry& entry = **it;
    // Not written when already set: most reads of a popular entry then only read its node.
    if (!entry.read_since_considered) entry.read_since_considered = true;
    return &entry.value;
  }
  // The value if kept, else null, without marking it: for looks that are not reads.
  template <typename K>
  [[nodiscard]] const Value* Find(const K& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &(*it)->value;
  }
  template <typename K>
  [[nodiscard]] bool contains(const K& key) const {
    return index_.contains(key);
  }

  // Keeps `value`, counted as `bytes` (above 0), under `key`, replacing any value kept there (which
  // goes even when the new one is not kept), after evicting what it takes to stay within the
  // bound. A value larger than the whole bound is not kept.
  void Insert(Key key, Value value, std::size_t bytes) {
    Erase(key);
    if (bytes == 0 || bytes > max_bytes_) return;
    // Ends: each entry is moved back at most once before every mark is cleared, and then evicted;
    // an empty queue holds no bytes.
    while (bytes_ + bytes > max_bytes_) ConsiderOldest();
    index_.reserve(index_.size() + 1);  // so that the emplace below cannot throw
    queue_.push_back(Entry{.key = std::move(key), .value = std::move(value), .bytes = bytes});
    index_.emplace(std::prev(queue_.end()));
    bytes_ += bytes;
  }
  template <typename K>
  void Erase(const K& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return;
    const typename Queue::iterator entry = *it;
    index_.erase(it);
    bytes_ -= entry->bytes;
    queue_.erase(entry);
  }
  // Takes out every entry for which `affected(key, value)` holds, appending its value to `taken`.
  // The others keep their places and marks.
  template <typename Predicate>
  void TakeIf(Predicate affected, std::vector<Value>& taken) {
    for (auto entry = queue_.begin(); entry != queue_.end();) {
      const auto next = std::next(entry);
      if (affected(std::as_const(entry->key), std::as_const(entry->value))) {
        taken.push_back(std::move(entry->value));
        EraseEntry(entry);
      }
      entry = next;
    }
  }
  // Empties this cache, returning what it held so that the caller can free it later (outside a
  // lock).
  [[nodiscard]] SecondChanceCache TakeAll() {
    return std::exchange(*this, SecondChanceCache(max_bytes_));
  }

  [[nodiscard]] std::size_t size() const { return index_.size(); }
  // The bytes of the values kept, as their inserts stated them.
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

  // What an entry takes beside its key's and value's own allocations: the queue's node (with the
  // allocator's header) and the index's slot, counting the table's spare slots (it is at least
  // about half full). For owners that count it against their bound.
  static constexpr std::size_t kBytesPerEntry =
      sizeof(Entry) + 2 * sizeof(void*) + 16 + 2 * (sizeof(typename Queue::iterator) + 1);

 private:
  struct Entry {
    Key key;
    Value value;
    std::size_t bytes = 0;
    bool read_since_considered = false;
  };

  // The index: the queue's entries, hashed and compared by key, so that each key is held once.
  using KeyHash = typename absl::flat_hash_set<Key>::hasher;
  using KeyEq = typename absl::flat_hash_set<Key>::key_equal;
  struct ByKeyHash {
    using is_transparent = void;
    std::size_t operator()(typename Queue::iterator entry) const { return KeyHash()(entry->key); }
    template <typename K>
    std::size_t operator()(const K& key) const {
      return KeyHash()(key);
    }
  };
  struct ByKeyEq {
    using is_transparent = void;
    static const Key& KeyOf(typename Queue::iterator entry) { return entry->key; }
    template <typename K>
    static const K& KeyOf(const K& key) {
      return key;
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyEq()(KeyOf(a), KeyOf(b));
    }
  };

  // Evicts the front entry, or moves it to the back with its mark cleared if it was read since.
  void ConsiderOldest() {
    const auto oldest = queue_.begin();
    if (!oldest->read_since_considered) {
      EraseEntry(oldest);
      return;
    }
    oldest->read_since_considered = false;
    queue_.splice(queue_.end(), queue_, oldest);
  }
  void EraseEntry(typename Queue::iterator entry) {
    bytes_ -= entry->bytes;
    index_.erase(entry);
    queue_.erase(entry);
  }

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  Queue queue_;
  absl::flat_hash_set<typename Queue::iterator, ByKeyHash, ByKeyEq> index_;
};

}  // namespace newsroom::content
