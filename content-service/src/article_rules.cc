#include "content-service/src/article_rules.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/src/status_macros.h"
#include "common/src/validation.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/field_mask_util.h"

namespace newsroom::content {
namespace {

using ::google::protobuf::util::FieldMaskUtil;

// Fields a client may update, and the output-only fields it may not name.
constexpr absl::string_view kUpdatableFields[] = {"title",
                                                  "subtitle",
                                                  "body",
                                                  "lead_image",
                                                  "lead_image.uri",
                                                  "lead_image.caption",
                                                  "lead_image.alt_text",
                                                  "lead_image.credit",
                                                  "source",
                                                  "source.name",
                                                  "source.uri",
                                                  "tags",
                                                  "language",
                                                  "authors",
                                                  "publish_time"};
constexpr absl::string_view kTopLevelUpdatableFields[] = {"title",      "subtitle", "body",
                                                          "lead_image", "source",   "tags",
                                                          "language",   "authors",  "publish_time"};
constexpr absl::string_view kOutputOnlyFields[] = {"name", "create_time", "update_time", "etag",
                                                   "read_stats"};

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status ValidateUri(absl::string_view uri, absl::string_view field) {
  NEWSROOM_RETURN_IF_ERROR(ValidateText(uri, field, kMaxUriBytes, TextKind::kSingleLine));
  if (uri.empty()) return absl::OkStatus();
  const bool http = absl::StartsWith(uri, "http://") || absl::StartsWith(uri, "https://");
  const std::size_t scheme_end = uri.find("://") + 3;
  if (!http || uri.size() == scheme_end || uri.find(' ') != absl::string_view::npos) {
    return Invalid(field, "must be an absolute http or https URI");
  }
  return absl::OkStatus();
}

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& time, absl::string_view field) {
  // The range protobuf's Timestamp allows: 0001-01-01 to 9999-12-31.
  constexpr std::int64_t kMinSeconds = -62135596800;
  constexpr std::int64_t kMaxSeconds = 253402300799;
  if (time.seconds() < kMinSeconds || time.seconds() > kMaxSeconds || time.nanos() < 0 ||
      time.nanos() > 999999999) {
    return Invalid(field, "must be a valid timestamp between years 1 and 9999");
  }
  return absl::OkStatus();
}

bool IsLanguageTag(absl::string_view language) {
  for (char c : language) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return language.size() <= kMaxLanguageBytes;
}

template <std::size_t N>
bool Contains(const absl::string_view (&set)[N], absl::string_view value) {
  for (absl::string_view item : set) {
    if (item == value) return true;
  }
  return false;
}

}  // namespace

absl::Status RejectUnknownFields(const google::protobuf::Message& message,
                                 absl::string_view prefix) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = reflection.GetUnknownFields(message);
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ": unknown field ", unknown.field(0).number(),
                     " (a newer client than this server? remove it or upgrade content-service)"));
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string path = absl::StrCat(prefix, ".", field->name());
    if (field->is_repeated()) {
      for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
        NEWSROOM_RETURN_IF_ERROR(RejectUnknownFields(
            reflection.GetRepeatedMessage(message, field, i), absl::StrCat(path, "[", i, "]")));
      }
    } else {
      NEWSROOM_RETURN_IF_ERROR(RejectUnknownFields(reflection.GetMessage(message, field), path));
    }
  }
  return absl::OkStatus();
}

absl::Status RejectUnknownArticleFields(const content_v1::Article& article,
                                        absl::string_view prefix) {
  if (!article.has_read_stats()) return RejectUnknownFields(article, prefix);
  content_v1::Article without_stats = article;  // a copy, on a write path only
  without_stats.clear_read_stats();
  return RejectUnknownFields(without_stats, prefix);
}

bool IsValidTag(absl::string_view tag) { return IsValidArticleId(tag); }

absl::Status ValidateArticleContent(const content_v1::Article& article, absl::string_view prefix) {
  const auto field = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  NEWSROOM_RETURN_IF_ERROR(ValidateText(article.title(), field("title"), kMaxTitleBytes,
                                        TextKind::kSingleLine, /*required=*/true));
  NEWSROOM_RETURN_IF_ERROR(ValidateText(article.subtitle(), field("subtitle"), kMaxSubtitleBytes,
                                        TextKind::kSingleLine));
  NEWSROOM_RETURN_IF_ERROR(
      ValidateText(article.body(), field("body"), kMaxBodyBytes, TextKind::kMultiLine));

  const content_v1::Image& image = article.lead_image();
  NEWSROOM_RETURN_IF_ERROR(ValidateUri(image.uri(), field("lead_image.uri")));
  NEWSROOM_RETURN_IF_ERROR(ValidateText(image.caption(), field("lead_image.caption"),
                                        kMaxCaptionBytes, TextKind::kSingleLine));
  NEWSROOM_RETURN_IF_ERROR(ValidateText(image.alt_text(), field("lead_image.alt_text"),
                                        kMaxCaptionBytes, TextKind::kSingleLine));
  NEWSROOM_RETURN_IF_ERROR(ValidateText(image.credit(), field("lead_image.credit"), kMaxCreditBytes,
                                        TextKind::kSingleLine));

  NEWSROOM_RETURN_IF_ERROR(ValidateText(article.source().name(), field("source.name"),
                                        kMaxSourceNameBytes, TextKind::kSingleLine));
  NEWSROOM_RETURN_IF_ERROR(ValidateUri(article.source().uri(), field("source.uri")));

  if (article.tags_size() > kMaxTags) {
    return Invalid(field("tags"), absl::StrCat("at most ", kMaxTags, " tags"));
  }
  absl::flat_hash_set<absl::string_view> seen_tags;
  for (int i = 0; i < article.tags_size(); ++i) {
    const std::string& tag = article.tags(i);
    const std::string tag_field = field(absl::StrCat("tags[", i, "]"));
    if (!IsValidTag(tag)) return Invalid(tag_field, "must match [a-z0-9][a-z0-9-]{0,62}");
    if (!seen_tags.insert(tag).second) return Invalid(tag_field, "is a duplicate");
  }

  if (!IsLanguageTag(article.language())) {
    return Invalid(field("language"), "must be a BCP 47 tag such as en or pt-BR");
  }

  if (article.authors_size() > kMaxAuthors) {
    return Invalid(field("authors"), absl::StrCat("at most ", kMaxAuthors, " authors"));
  }
  for (int i = 0; i < article.authors_size(); ++i) {
    NEWSROOM_RETURN_IF_ERROR(ValidateText(article.authors(i),
                                          field(absl::StrCat("authors[", i, "]")), kMaxAuthorBytes,
                                          TextKind::kSingleLine,
                                          /*required=*/true));
  }

  if (article.has_publish_time()) {
    NEWSROOM_RETURN_IF_ERROR(ValidateTimestamp(article.publish_time(), field("publish_time")));
  }
  return absl::OkStatus();
}

absl::StatusOr<content_v1::Article> ApplyUpdateMask(const content_v1::Article& current,
                                                    const content_v1::Article& patch,
                                                    const google::protobuf::FieldMask& mask) {
  google::protobuf::FieldMask effective;
  const bool replace_all = mask.paths_size() == 1 && mask.paths(0) == "*";
  if (replace_all) {
    for (absl::string_view path : kTopLevelUpdatableFields) effective.add_paths(std::string(path));
  } else if (mask.paths_size() == 0) {
    // AIP-134: no mask means every field the request populated.
    const auto* descriptor = patch.GetDescriptor();
    const auto* reflection = patch.GetReflection();
    for (absl::string_view path : kTopLevelUpdatableFields) {
      const auto* field = descriptor->FindFieldByName(std::string(path));
      const bool populated = field->is_repeated() ? reflection->FieldSize(patch, field) > 0
                                                  : reflection->HasField(patch, field);
      if (populated) effective.add_paths(std::string(path));
    }
  } else {
    for (const std::string& path : mask.paths()) {
      if (Contains(kOutputOnlyFields, path) ||
          Contains(kOutputOnlyFields, *absl::StrSplit(path, '.').begin())) {
        return Invalid("update_mask", absl::StrCat(path, " is output only"));
      }
      if (!Contains(kUpdatableFields, path)) {
        return Invalid("update_mask", absl::StrCat("unknown or non-updatable field ", path));
      }
      effective.add_paths(path);
    }
  }

  content_v1::Article updated = current;
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(patch, effective, options, &updated);
  // Replacing message fields clears a named one the patch leaves unset; an article without a
  // publish_time would list as published in 1970.
  if (!updated.has_publish_time()) *updated.mutable_publish_time() = current.create_time();
  return updated;
}

}  // namespace newsroom::content
