#pragma once

// Abseil 20220623 ships no status macros; these are the two every caller needs.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NEWSROOM_STATUS_CONCAT_INNER(a, b) a##b
#define NEWSROOM_STATUS_CONCAT(a, b) NEWSROOM_STATUS_CONCAT_INNER(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define NEWSROOM_RETURN_IF_ERROR(expr)                                    \
  do {                                                                    \
    if (absl::Status newsroom_status_ = (expr); !newsroom_status_.ok()) { \
      return newsroom_status_;                                            \
    }                                                                     \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, otherwise moves its
// value into `lhs` (a declaration such as `auto x` or an existing variable).
#define NEWSROOM_ASSIGN_OR_RETURN(lhs, rexpr) \
  NEWSROOM_ASSIGN_OR_RETURN_IMPL(NEWSROOM_STATUS_CONCAT(newsroom_statusor_, __LINE__), lhs, rexpr)

#define NEWSROOM_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()
