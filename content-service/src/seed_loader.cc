#include "content-service/src/seed_loader.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace newsroom::content {

absl::StatusOr<std::vector<v1::Article>> LoadSeedArticles(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat("seed file not found: ", path));
  }
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read seed file ", path, ": ", error.message()));
  }
  if (status.type() != std::filesystem::file_type::regular) {
    return absl::InvalidArgumentError(absl::StrCat("seed file is not a regular file: ", path));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read seed file ", path, ": ", error.message()));
  }
  if (size > kMaxSeedFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seed file ", path, " is ", size, " bytes, more than the limit of ", kMaxSeedFileBytes));
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot open seed file: ", path));
  std::string json;
  json.reserve(size);
  json.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read seed file: ", path));
  // The file may have grown since it was measured.
  if (json.size() > kMaxSeedFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed file ", path, " is larger than the limit of ", kMaxSeedFileBytes));
  }

  v1::ListArticlesResponse response;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (const auto parsed = google::protobuf::util::JsonStringToMessage(json, &response, options);
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed file ", path, " is not a valid article list: ",
                     absl::string_view(parsed.message().data(), parsed.message().size())));
  }
  std::vector<v1::Article> articles(std::make_move_iterator(response.mutable_articles()->begin()),
                                    std::make_move_iterator(response.mutable_articles()->end()));
  return articles;
}

}  // namespace newsroom::content
