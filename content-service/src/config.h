#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace newsroom::content {

// content-service's settings, from flags whose defaults come from environment variables.
struct ContentConfig {
  std::string listen_address;     // --listen, CONTENT_LISTEN
  std::string analytics_address;  // --analytics, ANALYTICS_ADDR
  std::string db_path;            // --db, CONTENT_DB
  std::string seed_path;          // --seed, CONTENT_SEED (empty: load no samples)
  absl::Duration analytics_budget;
  absl::Duration stats_max_age;
  std::size_t article_cache_bytes;
  std::size_t max_pending_reads;
  absl::Duration max_pending_read_age;
  absl::Duration shutdown_drain;
  // The editor token for the write RPCs: a file (--editor_token_file, EDITOR_TOKEN_FILE) or the
  // value of EDITOR_TOKEN; never a flag holding the value, which `ps` would show. Both empty:
  // writes are refused. Checked by EditorAuth::FromConfig.
  std::string editor_token_file;
  std::string editor_token;
};

// Reads the flags parsed by absl::ParseCommandLine; INVALID_ARGUMENT names the bad flag.
[[nodiscard]] absl::StatusOr<ContentConfig> ContentConfigFromFlags();

}  // namespace newsroom::content
